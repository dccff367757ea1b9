//! Built-in downloader middlewares (registry placeholder).

use std::sync::Arc;

use super::{DownloaderMiddleware, MiddlewareContext};
use crate::settings::SettingError;

/// Built-in downloader middlewares enabled by the settings plus `extra`, sorted by order.
pub fn downloader_middlewares(
    _ctx: &MiddlewareContext,
    mut extra: Vec<(i32, Arc<dyn DownloaderMiddleware>)>,
) -> Result<Vec<Arc<dyn DownloaderMiddleware>>, SettingError> {
    extra.sort_by_key(|(o, _)| *o);
    Ok(extra.into_iter().map(|(_, m)| m).collect())
}
