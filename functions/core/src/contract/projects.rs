//! Project-store cases. Every case deletes the versions it puts.

use super::{secs, t0, version, Names};
use crate::model::Version;
use crate::ports::ProjectStore;

fn sorted(mut v: Vec<Version>) -> Vec<Version> {
    v.sort_by(|a, b| a.version.cmp(&b.version));
    v
}

/// An unknown project has no versions and is not listed.
pub async fn unknown_project_has_no_versions(store: &dyn ProjectStore) {
    let n = Names::new("p");
    assert!(
        store.versions(&n.project(1)).await.unwrap().is_empty(),
        "an unknown project has no versions"
    );
    assert!(
        !store.projects().await.unwrap().contains(&n.project(1)),
        "an unknown project is not listed"
    );
}

/// `put_version` then `versions` gives back every field; `projects` lists each
/// project with a version once.
pub async fn versions_round_trip_every_field(store: &dyn ProjectStore) {
    let n = Names::new("p");
    let (p1, p2) = (n.project(1), n.project(2));
    let v1 = version(&p1, "1.0", t0());
    let v2 = version(&p1, "r2-ü", t0() + chrono::Duration::microseconds(1));
    let mut empty = version(&p2, "0", t0());
    empty.spiders = vec![];
    for v in [&v1, &v2, &empty] {
        store.put_version(v).await.expect("put_version");
    }
    assert_eq!(
        sorted(store.versions(&p1).await.unwrap()),
        vec![v1.clone(), v2.clone()],
        "versions returns every field as put"
    );
    assert_eq!(
        store.versions(&p2).await.unwrap(),
        vec![empty.clone()],
        "a version without spiders round-trips"
    );
    let projects = store.projects().await.unwrap();
    assert!(
        projects.contains(&p1) && projects.contains(&p2),
        "projects lists every project with a version: {projects:?}"
    );
    assert_eq!(
        projects.iter().filter(|p| **p == p1).count(),
        1,
        "a project is listed once"
    );
    assert!(store.delete_project(&p1).await.unwrap());
    assert!(store.delete_project(&p2).await.unwrap());
}

/// `put_version` replaces the version with the same label.
pub async fn put_version_replaces_same_label(store: &dyn ProjectStore) {
    let n = Names::new("p");
    let p1 = n.project(1);
    let v1 = version(&p1, "1.0", t0());
    let v2 = version(&p1, "2.0", t0());
    store.put_version(&v1).await.expect("put_version");
    store.put_version(&v2).await.expect("put_version");
    let mut v1b = v1.clone();
    v1b.spiders = vec!["gamma".into()];
    v1b.bundle_key = format!("bundles/{p1}/1.0-new.bundle");
    v1b.created_at = t0() + secs(5);
    store.put_version(&v1b).await.unwrap();
    assert_eq!(
        sorted(store.versions(&p1).await.unwrap()),
        vec![v1b.clone(), v2.clone()],
        "put_version replaces the version with the same label"
    );
    assert!(store.delete_project(&p1).await.unwrap());
}

/// `delete_version` deletes an existing version once and leaves the others.
pub async fn delete_version_only_when_present(store: &dyn ProjectStore) {
    let n = Names::new("p");
    let p1 = n.project(1);
    let v1 = version(&p1, "1.0", t0());
    let v2 = version(&p1, "r2-ü", t0() + chrono::Duration::microseconds(1));
    store.put_version(&v1).await.expect("put_version");
    store.put_version(&v2).await.expect("put_version");
    assert!(
        !store.delete_version(&p1, "nope").await.unwrap(),
        "delete_version of an unknown version returns false"
    );
    assert!(
        !store.delete_version(&n.project(3), "1.0").await.unwrap(),
        "delete_version in an unknown project returns false"
    );
    assert!(
        store.delete_version(&p1, "1.0").await.unwrap(),
        "delete_version of a version returns true"
    );
    assert_eq!(
        store.versions(&p1).await.unwrap(),
        vec![v2.clone()],
        "the other version stays"
    );
    assert!(
        store.projects().await.unwrap().contains(&p1),
        "a project with versions left stays listed"
    );
    assert!(
        !store.delete_version(&p1, "1.0").await.unwrap(),
        "a second delete_version returns false"
    );
    assert!(store.delete_version(&p1, &v2.version).await.unwrap());
}

/// Deleting a project's last version removes the project from `projects`.
pub async fn deleting_last_version_unlists_project(store: &dyn ProjectStore) {
    let n = Names::new("p");
    let p1 = n.project(1);
    let v1 = version(&p1, "1.0", t0());
    store.put_version(&v1).await.expect("put_version");
    assert!(store.projects().await.unwrap().contains(&p1));
    assert!(store.delete_version(&p1, &v1.version).await.unwrap());
    assert!(
        !store.projects().await.unwrap().contains(&p1),
        "deleting the last version removes the project from projects()"
    );
    assert!(store.versions(&p1).await.unwrap().is_empty());
}

/// `delete_project` deletes every version of one project, once.
pub async fn delete_project_deletes_every_version(store: &dyn ProjectStore) {
    let n = Names::new("p");
    let (p1, p2) = (n.project(1), n.project(2));
    let v1 = version(&p1, "1.0", t0());
    let v2 = version(&p1, "r2-ü", t0() + chrono::Duration::microseconds(1));
    let other = version(&p2, "0", t0());
    for v in [&v1, &v2, &other] {
        store.put_version(v).await.expect("put_version");
    }
    assert!(
        store.delete_project(&p1).await.unwrap(),
        "delete_project of a project with versions returns true"
    );
    assert!(
        store.versions(&p1).await.unwrap().is_empty(),
        "delete_project deletes every version"
    );
    assert!(
        !store.projects().await.unwrap().contains(&p1),
        "a deleted project is not listed"
    );
    assert!(
        !store.delete_project(&p1).await.unwrap(),
        "delete_project of a project without versions returns false"
    );
    assert_eq!(
        store.versions(&p2).await.unwrap(),
        vec![other.clone()],
        "deleting one project leaves the others"
    );
    assert!(store.delete_project(&p2).await.unwrap());
}
