//! Administrative units and their successions in the store.

use async_trait::async_trait;
use haidang_core::audit::AuditEvent;
use haidang_core::repo::UnitRepository;
use haidang_core::units::{AdminUnit, UnitKind, UnitSuccession};
use haidang_core::{CoreError, CoreResult};
use jiff::civil::Date;
use sqlx::any::AnyRow;

use crate::rows::{opt_float, opt_text, text};
use crate::{db_err, Store};

fn date(row: &AnyRow, col: &str) -> CoreResult<Date> {
    text(row, col)?.parse().map_err(|e| CoreError::Storage(format!("{col}: {e}")))
}

fn unit_from_row(row: &AnyRow, with_geometry: bool) -> CoreResult<AdminUnit> {
    Ok(AdminUnit {
        code: text(row, "code")?,
        parent_code: opt_text(row, "parent_code")?,
        kind: UnitKind::parse(&text(row, "kind")?)
            .ok_or_else(|| CoreError::Storage("units.kind: unknown value".into()))?,
        name_vi: text(row, "name_vi")?,
        name_en: text(row, "name_en")?,
        full_name_vi: text(row, "full_name_vi")?,
        full_name_en: text(row, "full_name_en")?,
        area_km2: opt_float(row, "area_km2")?,
        geometry: if with_geometry { opt_text(row, "geometry")? } else { None },
        valid_from: date(row, "valid_from")?,
        valid_to: opt_text(row, "valid_to")?
            .map(|d| d.parse().map_err(|e| CoreError::Storage(format!("valid_to: {e}"))))
            .transpose()?,
    })
}

const LIGHT: &str =
    "code, parent_code, kind, name_vi, name_en, full_name_vi, full_name_en, area_km2, valid_from, valid_to";

#[async_trait]
impl UnitRepository for Store {
    async fn upsert_units(
        &self,
        units: &[AdminUnit],
        successions: &[UnitSuccession],
        audit: &AuditEvent,
    ) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        for u in units {
            sqlx::query(
                "INSERT INTO units (code, parent_code, kind, name_vi, name_en, full_name_vi, full_name_en, area_km2, \
                 geometry, valid_from, valid_to) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) \
                 ON CONFLICT (code) DO UPDATE SET parent_code = excluded.parent_code, kind = excluded.kind, \
                 name_vi = excluded.name_vi, name_en = excluded.name_en, full_name_vi = excluded.full_name_vi, \
                 full_name_en = excluded.full_name_en, area_km2 = excluded.area_km2, \
                 geometry = COALESCE(excluded.geometry, units.geometry), valid_from = excluded.valid_from, \
                 valid_to = excluded.valid_to",
            )
            .bind(u.code.clone())
            .bind(u.parent_code.clone())
            .bind(u.kind.as_str())
            .bind(u.name_vi.clone())
            .bind(u.name_en.clone())
            .bind(u.full_name_vi.clone())
            .bind(u.full_name_en.clone())
            .bind(u.area_km2)
            .bind(u.geometry.clone())
            .bind(u.valid_from.to_string())
            .bind(u.valid_to.map(|d| d.to_string()))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        for s in successions {
            sqlx::query(
                "INSERT INTO unit_successions (new_code, old_code, effective_on, note) VALUES ($1,$2,$3,$4) \
                 ON CONFLICT (new_code, old_code) DO UPDATE SET effective_on = excluded.effective_on, note = excluded.note",
            )
            .bind(s.new_code.clone())
            .bind(s.old_code.clone())
            .bind(s.effective_on.to_string())
            .bind(s.note.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        self.commit_audited(tx, audit).await
    }

    async fn list_units(
        &self,
        kind: Option<UnitKind>,
        parent: Option<&str>,
        with_geometry: bool,
    ) -> CoreResult<Vec<AdminUnit>> {
        let columns = if with_geometry { format!("{LIGHT}, geometry") } else { LIGHT.to_string() };
        let rows = sqlx::query(&format!(
            "SELECT {columns} FROM units WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR parent_code = $2) ORDER BY code"
        ))
        .bind(kind.map(|k| k.as_str().to_string()))
        .bind(parent.map(str::to_string))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| unit_from_row(r, with_geometry)).collect()
    }

    async fn get_unit(&self, code: &str) -> CoreResult<Option<AdminUnit>> {
        let row = sqlx::query(&format!("SELECT {LIGHT}, geometry FROM units WHERE code = $1"))
            .bind(code.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(|r| unit_from_row(r, true)).transpose()
    }

    async fn successions_of(&self, code: &str) -> CoreResult<Vec<UnitSuccession>> {
        let rows = sqlx::query(
            "SELECT new_code, old_code, effective_on, note FROM unit_successions \
             WHERE new_code = $1 OR old_code = $1 ORDER BY effective_on, new_code, old_code",
        )
        .bind(code.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(UnitSuccession {
                    new_code: text(r, "new_code")?,
                    old_code: text(r, "old_code")?,
                    effective_on: date(r, "effective_on")?,
                    note: text(r, "note")?,
                })
            })
            .collect()
    }
}
