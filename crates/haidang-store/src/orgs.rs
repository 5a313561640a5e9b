//! Organisations in the store.

use async_trait::async_trait;
use haidang_core::audit::AuditEvent;
use haidang_core::orgs::{OrgKind, Organisation};
use haidang_core::repo::OrgRepository;
use haidang_core::{CoreError, CoreResult};
use sqlx::any::AnyRow;

use crate::rows::{list, list_json, opt_text, text, ts, us};
use crate::{db_err, Store};

const COLUMNS: &str =
    "id, code, parent_id, kind, name_vi, name_en, sectors, unit_codes, head_name, email, phone, \
                       duty_phone, created_at, updated_at";

fn org_from_row(row: &AnyRow) -> CoreResult<Organisation> {
    Ok(Organisation {
        id: text(row, "id")?,
        code: text(row, "code")?,
        parent_id: opt_text(row, "parent_id")?,
        kind: OrgKind::parse(&text(row, "kind")?).unwrap_or(OrgKind::Other),
        name_vi: text(row, "name_vi")?,
        name_en: text(row, "name_en")?,
        sectors: list(row, "sectors")?,
        unit_codes: list(row, "unit_codes")?,
        head_name: opt_text(row, "head_name")?,
        email: opt_text(row, "email")?,
        phone: opt_text(row, "phone")?,
        duty_phone: opt_text(row, "duty_phone")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

#[async_trait]
impl OrgRepository for Store {
    async fn create_org(&self, org: &Organisation, audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO orgs ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"
        ))
        .bind(org.id.clone())
        .bind(org.code.clone())
        .bind(org.parent_id.clone())
        .bind(org.kind.as_str())
        .bind(org.name_vi.clone())
        .bind(org.name_en.clone())
        .bind(list_json(&org.sectors))
        .bind(list_json(&org.unit_codes))
        .bind(org.head_name.clone())
        .bind(org.email.clone())
        .bind(org.phone.clone())
        .bind(org.duty_phone.clone())
        .bind(us(org.created_at))
        .bind(us(org.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| match db_err(e) {
            CoreError::Conflict(_) => {
                CoreError::Conflict(format!("organisation code '{}' is taken", org.code))
            }
            other => other,
        })?;
        self.commit_audited(tx, audit).await
    }

    async fn list_orgs(&self) -> CoreResult<Vec<Organisation>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM orgs ORDER BY kind, name_vi, id"))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(org_from_row).collect()
    }

    async fn get_org(&self, id: &str) -> CoreResult<Option<Organisation>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM orgs WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(org_from_row).transpose()
    }

    async fn get_org_by_code(&self, code: &str) -> CoreResult<Option<Organisation>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM orgs WHERE code = $1"))
            .bind(code.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(org_from_row).transpose()
    }
}
