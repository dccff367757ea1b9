//! Projects: versions and spiders, deploy (upload a spec or a bundle; the refusal with
//! its field path is shown as the API words it), delete a version or a project.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use http::HeaderMap;

use super::{error_body, shell, Ctx};
use crate::pages::escape;
use crate::App;

fn del_form(action: &str, project: &str, version: Option<&str>, label: &str) -> String {
    let v = version
        .map(|v| {
            format!(
                "<input type=\"hidden\" name=\"version\" value=\"{}\">",
                escape(v)
            )
        })
        .unwrap_or_default();
    format!(
        "<form data-action=\"{action}\" data-then=\"reload\" data-confirm=\"{label}?\" class=\"inline\">\
         <input type=\"hidden\" name=\"project\" value=\"{}\">{v}<button>{label}</button>\
         <output class=\"result\"></output></form>",
        escape(project)
    )
}

/// `GET {base}/console/projects`.
pub(super) async fn page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let ctx = Ctx::new(&app, &headers);
    let mut h = String::new();
    match app.control.list_projects().await {
        Err(e) => h.push_str(&error_body(&e.to_string())),
        Ok(projects) if projects.is_empty() => h.push_str("<p class=\"none\">No projects yet.</p>"),
        Ok(projects) => {
            h.push_str(
                "<table id=\"projects\"><thead><tr><th>Project</th><th>Versions</th>\
                 <th>Spiders (latest version)</th><th></th></tr></thead><tbody>",
            );
            for p in &projects {
                let versions = app.control.list_versions(p).await.unwrap_or_default();
                let spiders = app.control.list_spiders(p, None).await.unwrap_or_default();
                let mut vs = String::new();
                for v in &versions {
                    let _ = write!(
                        vs,
                        "<li>{} {}</li>",
                        escape(v),
                        del_form("delversion", p, Some(v), "Delete version")
                    );
                }
                let sp: Vec<String> = spiders
                    .iter()
                    .map(|s| {
                        let q = format!("/console/jobs?project={}&spider={}", enc(p), enc(s));
                        format!("<a href=\"{}\">{}</a>", ctx.href(&q), escape(s))
                    })
                    .collect();
                let _ = write!(
                    h,
                    "<tr data-project=\"{pe}\"><td>{pe}</td><td><ul>{vs}</ul></td><td>{}</td><td>{}</td></tr>",
                    sp.join(", "),
                    del_form("delproject", p, None, "Delete project"),
                    pe = escape(p),
                );
            }
            h.push_str("</tbody></table>");
        }
    }
    let version = app.control.now().format("%Y%m%d%H%M%S");
    let _ = write!(
        h,
        "<h2>Deploy</h2><form data-action=\"addversion\" data-then=\"reload\" class=\"grid\" id=\"deploy\">\
         <label>Project <input name=\"project\" required></label>\
         <label>Version <input name=\"version\" value=\"{version}\" required></label>\
         <label>Spec or bundle (.toml, .json, .zip, .tar.gz, .egg) <input type=\"file\" name=\"egg\" required></label>\
         <button>Deploy</button><output class=\"result\"></output></form>"
    );
    shell(&app, &ctx, "Projects", &h)
}

/// A query-string value, percent-encoded.
fn enc(s: &str) -> String {
    crate::endpoints::encode_segment(s)
}
