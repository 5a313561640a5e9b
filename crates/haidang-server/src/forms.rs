//! Forms between the core and the spreadsheet files: a dataset's columns become an XLSX
//! template with Vietnamese headers (from the translation files), an uploaded file becomes the
//! core's table, and the core's errors become messages in the caller's language.

use haidang_core::datasets::forms::{marker, FormColumn, FormError, FormKey, FormKind};
use haidang_core::datasets::intake::{FormOutcome, FormTable};
use haidang_core::datasets::model::Dataset;
use haidang_report::{read_table, write_template, ColumnKind, ReportError, TemplateColumn, TemplateSpec};
use serde_json::{json, Value};

use crate::i18n::{Lang, Translations};

/// A column's header: its label in Vietnamese and its short name in brackets, which is what an
/// upload is matched by ("Lượng mưa (precipitation)").
pub fn header(column: &FormColumn) -> String {
    let t = Translations::get(Lang::Vi);
    let key = match &column.key {
        FormKey::Id => "form.col_id".to_string(),
        FormKey::Unit => "form.col_unit".to_string(),
        FormKey::ObservedAt => "form.col_observed_at".to_string(),
        FormKey::Attr(_) => format!("attr.{}", column.short),
    };
    match t.text(&key) {
        label if label == key => column.short.clone(),
        label => format!("{label} ({})", column.short),
    }
}

fn kind_of(kind: &FormKind) -> ColumnKind {
    match kind {
        FormKind::Text => ColumnKind::Text,
        FormKind::Integer { min, max } => ColumnKind::Integer { min: *min, max: *max },
        FormKind::Decimal { min, max } => ColumnKind::Decimal { min: *min, max: *max },
        FormKind::DateTime => ColumnKind::DateTime,
        FormKind::Choice(options) => ColumnKind::Choice(options.clone()),
    }
}

pub fn template(d: &Dataset, columns: &[FormColumn], example: &[String]) -> Result<Vec<u8>, ReportError> {
    let t = Translations::get(Lang::Vi);
    let note = |c: &FormColumn| match &c.key {
        FormKey::Id => Some(t.text("form.note_id").to_string()),
        FormKey::Unit => Some(t.text("form.note_unit").to_string()),
        FormKey::ObservedAt => Some(t.text("form.note_observed_at").to_string()),
        FormKey::Attr(_) => None,
    };
    let spec = TemplateSpec {
        sheet_name: "Du lieu".into(),
        title: d.name.clone(),
        marker: marker(&d.id),
        columns: columns
            .iter()
            .map(|c| TemplateColumn {
                header: header(c),
                kind: kind_of(&c.kind),
                required: c.required,
                note: note(c),
            })
            .collect(),
        example: example.to_vec(),
        instructions: vec![
            format!("{} {}", t.text("form.instructions_dataset"), d.name),
            t.text("form.instructions_1").to_string(),
            t.text("form.instructions_2").to_string(),
            t.text("form.instructions_3").to_string(),
        ],
        data_rows: 1000,
        prefilled: vec![],
    };
    write_template(&spec)
}

/// An uploaded file as the core's table; XLSX or CSV by its bytes, then its name.
pub fn read(file_name: &str, bytes: &[u8]) -> Result<FormTable, ReportError> {
    let format = haidang_report::detect_format(file_name, bytes).ok_or(ReportError::Empty)?;
    let table = read_table(format, bytes)?;
    Ok(FormTable {
        marker: table.marker,
        headers: table.headers,
        rows: table.rows.into_iter().map(|r| (r.number, r.cells)).collect(),
    })
}

/// A file the reader could not take, as an error of the upload.
pub fn file_error(lang: Lang, e: &ReportError) -> Value {
    let t = Translations::get(lang);
    let key = format!("form_error.file_{}", e.code());
    let message = match t.text(&key) {
        same if same == key => e.to_string(),
        text => text.to_string(),
    };
    json!({"row": null, "column": null, "code": e.code(), "message": message})
}

pub fn error_json(lang: Lang, e: &FormError) -> Value {
    let t = Translations::get(lang);
    let key = format!("form_error.{}", e.code);
    let message =
        t.text(&key).replace("{value}", &e.value).replace("{column}", e.column.as_deref().unwrap_or(""));
    json!({"row": e.row, "column": e.column, "code": e.code, "message": message})
}

pub fn outcome_json(lang: Lang, o: &FormOutcome) -> Value {
    json!({
        "accepted": o.accepted,
        "rows": o.rows,
        "period": o.period,
        "errors": o.errors.iter().map(|e| error_json(lang, e)).collect::<Vec<_>>(),
    })
}
