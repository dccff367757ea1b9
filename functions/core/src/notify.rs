//! The `notify` parameter of `schedule.json` and `addschedule.json`: webhooks scoped to
//! one job (and its schedule's events) or one schedule (and its jobs), registered
//! before the job or schedule exists, so none of its events is missed. They are checked
//! like `addwebhook.json`'s (URL form, SSRF guard, the per-project limit), answered
//! with their secrets, and go away with what they watch: a job's once its
//! `job.finished` / `job.removed` event is done with (see
//! [`crate::events::Deliverer`]), a schedule's with the schedule.

use crate::control::{AddScheduleRequest, ApiError, ApiResult, Control, ScheduleRequest};
use crate::events::{EventFilter, Webhook};
use crate::model::Schedule;
use crate::names::{check_job_id, check_name, new_job_id, new_schedule_id};

/// `notify` URLs one request may give.
pub const MAX_NOTIFY_URLS: usize = 5;

/// The `notify` webhooks a request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyRequest {
    /// `notify` (repeatable): where the events are POSTed.
    pub urls: Vec<String>,
    /// `notify_events`: the kinds (as `addwebhook.json`'s `events`); `job.*` when absent.
    pub events: Option<String>,
}

/// What a `notify` webhook watches.
enum Scope {
    Job(String),
    Schedule(String),
}

/// An error about a webhook's URL, said about `notify`.
fn about_notify(e: ApiError) -> ApiError {
    match e {
        ApiError::Invalid {
            param: "url",
            message,
        } => ApiError::Invalid {
            param: "notify",
            message,
        },
        e => e,
    }
}

impl Control {
    /// Registers the `notify` webhooks of `project` watching `scope`.
    async fn add_notify(
        &self,
        project: &str,
        notify: &NotifyRequest,
        scope: Scope,
    ) -> ApiResult<Vec<Webhook>> {
        if notify.urls.len() > MAX_NOTIFY_URLS {
            return Err(ApiError::invalid(
                "notify",
                format!("at most {MAX_NOTIFY_URLS} URLs"),
            ));
        }
        let filter = match &notify.events {
            Some(e) => EventFilter::parse(e)
                .map_err(|e| ApiError::invalid("notify_events", e.to_string()))?,
            None => Webhook::notify_events(),
        };
        let mut made = Vec::new();
        for url in &notify.urls {
            let scoped = |w: &mut Webhook| match &scope {
                Scope::Job(id) => w.job = Some(id.clone()),
                Scope::Schedule(id) => w.schedule = Some(id.clone()),
            };
            match self
                .new_webhook(project, url, filter.clone(), None, scoped)
                .await
            {
                Ok(w) => made.push(w),
                Err(e) => {
                    self.drop_webhooks(project, &made).await;
                    return Err(about_notify(e));
                }
            }
        }
        Ok(made)
    }

    /// Deletes webhooks (best effort: a failure leaves a webhook nobody triggers).
    async fn drop_webhooks(&self, project: &str, hooks: &[Webhook]) {
        for h in hooks {
            if let Err(e) = self.stores.events.delete_webhook(project, &h.id).await {
                tracing::warn!(webhook = %h.id, "deleting a notify webhook: {e}");
            }
        }
    }

    /// `schedule.json` with `notify`: the job id and its new webhooks (with secrets).
    pub async fn schedule_notify(
        &self,
        mut req: ScheduleRequest,
        notify: &NotifyRequest,
    ) -> ApiResult<(String, Vec<Webhook>)> {
        if notify.urls.is_empty() {
            return Ok((self.schedule(req).await?, Vec::new()));
        }
        self.require_project(&req.project).await?;
        let id = match &req.job_id {
            Some(id) => {
                check_job_id(id)?;
                id.clone()
            }
            None => new_job_id(),
        };
        req.job_id = Some(id.clone());
        let project = req.project.clone();
        let hooks = self.add_notify(&project, notify, Scope::Job(id)).await?;
        match self.schedule(req).await {
            Ok(id) => Ok((id, hooks)),
            Err(e) => {
                self.drop_webhooks(&project, &hooks).await;
                Err(e)
            }
        }
    }

    /// `addschedule.json` with `notify`: the schedule and its new webhooks.
    pub async fn add_schedule_notify(
        &self,
        mut req: AddScheduleRequest,
        notify: &NotifyRequest,
    ) -> ApiResult<(Schedule, Vec<Webhook>)> {
        if notify.urls.is_empty() {
            return Ok((self.add_schedule(req).await?, Vec::new()));
        }
        self.require_project(&req.project).await?;
        let id = match &req.id {
            Some(id) => {
                check_name("id", id)?;
                id.clone()
            }
            None => new_schedule_id(),
        };
        req.id = Some(id.clone());
        let project = req.project.clone();
        let hooks = self
            .add_notify(&project, notify, Scope::Schedule(id))
            .await?;
        match self.add_schedule(req).await {
            Ok(s) => Ok((s, hooks)),
            Err(e) => {
                self.drop_webhooks(&project, &hooks).await;
                Err(e)
            }
        }
    }

    /// Deletes the `notify` webhooks watching schedule `id` of `project`.
    pub(crate) async fn drop_schedule_webhooks(&self, project: &str, id: &str) -> ApiResult<()> {
        let hooks: Vec<Webhook> = self
            .stores
            .events
            .webhooks(project)
            .await?
            .into_iter()
            .filter(|w| w.schedule.as_deref() == Some(id))
            .collect();
        self.drop_webhooks(project, &hooks).await;
        Ok(())
    }
}
