//! Built-in spider middlewares (registry placeholder).

use std::sync::Arc;

use super::{MiddlewareContext, SpiderMiddleware};
use crate::settings::SettingError;

/// Built-in spider middlewares enabled by the settings plus `extra`, sorted by order.
pub fn spider_middlewares(
    _ctx: &MiddlewareContext,
    mut extra: Vec<(i32, Arc<dyn SpiderMiddleware>)>,
) -> Result<Vec<Arc<dyn SpiderMiddleware>>, SettingError> {
    extra.sort_by_key(|(o, _)| *o);
    Ok(extra.into_iter().map(|(_, m)| m).collect())
}
