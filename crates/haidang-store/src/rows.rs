//! Reading columns the way every table stores them: times as microseconds, booleans as 0/1,
//! lists as JSON text.

use haidang_core::time::micros_to_ts;
use haidang_core::{CoreError, CoreResult};
use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

pub(crate) fn text(row: &AnyRow, col: &str) -> CoreResult<String> {
    row.try_get::<String, _>(col).map_err(|e| CoreError::Storage(format!("{col}: {e}")))
}

pub(crate) fn opt_text(row: &AnyRow, col: &str) -> CoreResult<Option<String>> {
    row.try_get::<Option<String>, _>(col).map_err(|e| CoreError::Storage(format!("{col}: {e}")))
}

pub(crate) fn int(row: &AnyRow, col: &str) -> CoreResult<i64> {
    row.try_get::<i64, _>(col).map_err(|e| CoreError::Storage(format!("{col}: {e}")))
}

pub(crate) fn opt_int(row: &AnyRow, col: &str) -> CoreResult<Option<i64>> {
    row.try_get::<Option<i64>, _>(col).map_err(|e| CoreError::Storage(format!("{col}: {e}")))
}

pub(crate) fn opt_float(row: &AnyRow, col: &str) -> CoreResult<Option<f64>> {
    row.try_get::<Option<f64>, _>(col).map_err(|e| CoreError::Storage(format!("{col}: {e}")))
}

pub(crate) fn flag(row: &AnyRow, col: &str) -> CoreResult<bool> {
    Ok(int(row, col)? != 0)
}

pub(crate) fn ts(row: &AnyRow, col: &str) -> CoreResult<Timestamp> {
    Ok(micros_to_ts(int(row, col)?))
}

pub(crate) fn opt_ts(row: &AnyRow, col: &str) -> CoreResult<Option<Timestamp>> {
    Ok(opt_int(row, col)?.map(micros_to_ts))
}

pub(crate) fn list(row: &AnyRow, col: &str) -> CoreResult<Vec<String>> {
    serde_json::from_str(&text(row, col)?).map_err(|e| CoreError::Storage(format!("{col}: {e}")))
}

pub(crate) fn list_json(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn us(ts: Timestamp) -> i64 {
    ts.as_microsecond()
}

pub(crate) fn opt_us(ts: Option<Timestamp>) -> Option<i64> {
    ts.map(|t| t.as_microsecond())
}

pub(crate) fn bool_int(b: bool) -> i64 {
    i64::from(b)
}
