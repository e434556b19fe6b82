//! ombud's own dataset format: one TOML file per dataset, beside privacy.toml or in
//! `datasets/*.toml`. Unknown keys are refused, as in the policy.
//!
//! ```toml
//! key = "invoicing_app"
//! name = "Invoicing application database"
//! purposes = ["service-delivery", "accounting"]
//! tenant = { column = "company_id", values = { "17" = "Acme Oy" } }
//!
//! [connection]
//! kind = "postgres"
//! url_env = "APP_DATABASE_URL"
//!
//! [[collections]]
//! name = "customer"
//!
//! [[collections.fields]]
//! name = "email"
//! categories = ["user.contact.email"]
//! identity = "email"
//! ```

use crate::dataset::{
    Collection, Connection, Dataset, Direction, Field, Masking, Reference, TenantScope,
};
use crate::problem::{Places, Problem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataset {
    key: Spanned<String>,
    name: String,
    description: Option<String>,
    connection: Option<Connection>,
    #[serde(default)]
    purposes: Vec<Spanned<String>>,
    #[serde(default)]
    tenant: Option<RawTenant>,
    #[serde(default)]
    collections: Vec<RawCollection>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawTenant {
    Named(String),
    Customer {
        customer: String,
    },
    Column {
        column: String,
        values: BTreeMap<String, String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCollection {
    name: Spanned<String>,
    description: Option<String>,
    #[serde(default)]
    erase: Option<Spanned<String>>,
    #[serde(default)]
    erase_after: Vec<Spanned<String>>,
    expires_by: Option<Spanned<String>>,
    #[serde(default)]
    skip: bool,
    #[serde(default)]
    fields: Vec<RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: Spanned<String>,
    #[serde(default)]
    categories: Vec<Spanned<String>>,
    identity: Option<Spanned<String>>,
    #[serde(default)]
    references: Vec<Spanned<RawReference>>,
    #[serde(default)]
    primary_key: bool,
    data_type: Option<String>,
    #[serde(default)]
    read_only: bool,
    masking: Option<Spanned<String>>,
    mask_value: Option<String>,
    mask_length: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReference {
    /// `collection.field` in this dataset, or `dataset.collection.field`.
    field: String,
    #[serde(default)]
    direction: Option<Direction>,
}

/// Reads a dataset file in ombud's format; `file` names it in problems.
pub fn parse(file: &str, text: &str) -> Result<(Dataset, Places), Vec<Problem>> {
    let mut places = Places::new(file);
    let raw: RawDataset = toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map_or((0, 0), |span| crate::problem::line_column(text, span.start));
        vec![Problem {
            file: file.into(),
            line,
            column,
            message: e.message().to_owned(),
            hint: None,
        }]
    })?;
    let mut problems = Vec::new();
    let key = raw.key.get_ref().clone();
    places.set_offset("key", text, raw.key.span().start);
    let purposes = raw
        .purposes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            places.set_offset(format!("purposes[{i}]"), text, p.span().start);
            p.get_ref().clone()
        })
        .collect();
    let tenant = match raw.tenant {
        None => TenantScope::Operator,
        Some(RawTenant::Named(name)) if name == "operator" => TenantScope::Operator,
        Some(RawTenant::Named(name)) => {
            problems.push(places.problem(
                "key",
                format!("tenant = \"{name}\" is not a tenant scope"),
                Some(
                    "write tenant = \"operator\", tenant = { customer = \"NAME\" } or tenant = { column = \"COLUMN\", values = { … } }"
                        .into(),
                ),
            ));
            TenantScope::Operator
        }
        Some(RawTenant::Customer { customer }) => TenantScope::Customer(customer),
        Some(RawTenant::Column { column, values }) => TenantScope::Column { column, values },
    };
    let mut collections = Vec::new();
    for raw_collection in raw.collections {
        let name = raw_collection.name.get_ref().clone();
        places.set_offset(name.clone(), text, raw_collection.name.span().start);
        let delete_rows = match raw_collection.erase.as_ref().map(|e| e.get_ref().as_str()) {
            None | Some("mask") => false,
            Some("delete") => true,
            Some(other) => {
                let at = raw_collection.erase.as_ref().map_or(0, |e| e.span().start);
                places.set_offset(format!("{name}.erase"), text, at);
                problems.push(places.problem(
                    &format!("{name}.erase"),
                    format!("erase = \"{other}\" is not a way to erase"),
                    Some("use \"mask\" (fields changed per their masking) or \"delete\" (the row goes)".into()),
                ));
                false
            }
        };
        let erase_after = raw_collection
            .erase_after
            .iter()
            .enumerate()
            .map(|(i, after)| {
                places.set_offset(format!("{name}.erase_after[{i}]"), text, after.span().start);
                qualify(&key, after.get_ref())
            })
            .collect();
        if let Some(expires) = &raw_collection.expires_by {
            places.set_offset(format!("{name}.expires_by"), text, expires.span().start);
        }
        let mut fields = Vec::new();
        for raw_field in raw_collection.fields {
            let field_name = raw_field.name.get_ref().clone();
            let path = format!("{name}.{field_name}");
            places.set_offset(path.clone(), text, raw_field.name.span().start);
            for (i, category) in raw_field.categories.iter().enumerate() {
                places.set_offset(
                    format!("{path}.categories[{i}]"),
                    text,
                    category.span().start,
                );
            }
            if let Some(identity) = &raw_field.identity {
                places.set_offset(format!("{path}.identity"), text, identity.span().start);
            }
            let mut references = Vec::new();
            for (i, reference) in raw_field.references.iter().enumerate() {
                let at = format!("{path}.references[{i}]");
                places.set_offset(at.clone(), text, reference.span().start);
                match split_reference(&key, &reference.get_ref().field) {
                    Some((dataset, collection, field)) => references.push(Reference {
                        dataset,
                        collection,
                        field,
                        direction: reference.get_ref().direction.unwrap_or(Direction::Both),
                    }),
                    None => problems.push(places.problem(
                        &at,
                        format!("`{}` does not name a field", reference.get_ref().field),
                        Some("write collection.field, or dataset.collection.field for another dataset".into()),
                    )),
                }
            }
            let masking = match raw_field.masking.as_ref() {
                None => None,
                Some(masking) => {
                    places.set_offset(format!("{path}.masking"), text, masking.span().start);
                    match masking.get_ref().as_str() {
                        "null" => Some(Masking::Null),
                        "hmac" => Some(Masking::Hmac),
                        "random" => Some(Masking::RandomString {
                            length: raw_field.mask_length.unwrap_or(16),
                        }),
                        "fixed" => match &raw_field.mask_value {
                            Some(value) => Some(Masking::Fixed {
                                value: value.clone(),
                            }),
                            None => {
                                problems.push(places.problem(
                                    &format!("{path}.masking"),
                                    "masking = \"fixed\" needs the value to write",
                                    Some("add mask_value = \"…\"".into()),
                                ));
                                None
                            }
                        },
                        other => {
                            problems.push(places.problem(
                                &format!("{path}.masking"),
                                format!("masking = \"{other}\" is not a masking strategy"),
                                Some("use \"null\", \"fixed\" (with mask_value), \"hmac\" or \"random\"".into()),
                            ));
                            None
                        }
                    }
                }
            };
            fields.push(Field {
                name: field_name,
                categories: raw_field
                    .categories
                    .iter()
                    .map(|c| c.get_ref().clone())
                    .collect(),
                identity: raw_field.identity.map(|i| i.into_inner()),
                references,
                primary_key: raw_field.primary_key,
                data_type: raw_field.data_type,
                read_only: raw_field.read_only,
                masking,
            });
        }
        collections.push(Collection {
            name,
            description: raw_collection.description,
            fields,
            delete_rows,
            erase_after,
            expires_by: raw_collection.expires_by.map(|e| e.into_inner()),
            skip: raw_collection.skip,
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok((
        Dataset {
            key,
            name: raw.name,
            description: raw.description,
            connection: raw.connection,
            purposes,
            tenant,
            collections,
        },
        places,
    ))
}

/// `collection` or `dataset.collection` as `dataset.collection`.
fn qualify(dataset: &str, name: &str) -> String {
    if name.contains('.') {
        name.to_owned()
    } else {
        format!("{dataset}.{name}")
    }
}

fn split_reference(dataset: &str, text: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    match parts.as_slice() {
        [collection, field] => Some((dataset.into(), (*collection).into(), (*field).into())),
        [other, collection, field] => {
            Some(((*other).into(), (*collection).into(), (*field).into()))
        }
        _ => None,
    }
}

/// The dataset written in ombud's format (what `ombud datasets import` prints).
pub fn to_toml(dataset: &Dataset) -> Result<String, toml::ser::Error> {
    #[derive(Serialize)]
    struct OutDataset<'a> {
        key: &'a str,
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
        purposes: &'a [String],
        tenant: OutTenant<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        connection: Option<&'a Connection>,
        collections: Vec<OutCollection<'a>>,
    }
    #[derive(Serialize)]
    #[serde(untagged)]
    enum OutTenant<'a> {
        Named(&'a str),
        Customer {
            customer: &'a str,
        },
        Column {
            column: &'a str,
            values: &'a BTreeMap<String, String>,
        },
    }
    #[derive(Serialize)]
    struct OutCollection<'a> {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        erase: Option<&'static str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        erase_after: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_by: Option<&'a str>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        skip: bool,
        fields: Vec<OutField<'a>>,
    }
    #[derive(Serialize)]
    struct OutField<'a> {
        name: &'a str,
        categories: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        identity: Option<&'a str>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        primary_key: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        data_type: Option<&'a str>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        read_only: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        masking: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        mask_value: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        mask_length: Option<usize>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        references: Vec<OutReference>,
    }
    #[derive(Serialize)]
    struct OutReference {
        field: String,
        direction: Direction,
    }
    let out = OutDataset {
        key: &dataset.key,
        name: &dataset.name,
        description: dataset.description.as_deref(),
        purposes: &dataset.purposes,
        tenant: match &dataset.tenant {
            TenantScope::Operator => OutTenant::Named("operator"),
            TenantScope::Customer(customer) => OutTenant::Customer { customer },
            TenantScope::Column { column, values } => OutTenant::Column { column, values },
        },
        connection: dataset.connection.as_ref(),
        collections: dataset
            .collections
            .iter()
            .map(|c| OutCollection {
                name: &c.name,
                description: c.description.as_deref(),
                erase: c.delete_rows.then_some("delete"),
                erase_after: c
                    .erase_after
                    .iter()
                    .map(|a| {
                        a.strip_prefix(&format!("{}.", dataset.key))
                            .unwrap_or(a)
                            .to_owned()
                    })
                    .collect(),
                expires_by: c.expires_by.as_deref(),
                skip: c.skip,
                fields: c
                    .fields
                    .iter()
                    .map(|f| OutField {
                        name: &f.name,
                        categories: &f.categories,
                        identity: f.identity.as_deref(),
                        primary_key: f.primary_key,
                        data_type: f.data_type.as_deref(),
                        read_only: f.read_only,
                        masking: f.masking.as_ref().map(|m| match m {
                            Masking::Null => "null",
                            Masking::Fixed { .. } => "fixed",
                            Masking::Hmac => "hmac",
                            Masking::RandomString { .. } => "random",
                        }),
                        mask_value: match &f.masking {
                            Some(Masking::Fixed { value }) => Some(value),
                            _ => None,
                        },
                        mask_length: match &f.masking {
                            Some(Masking::RandomString { length }) => Some(*length),
                            _ => None,
                        },
                        references: f
                            .references
                            .iter()
                            .map(|r| OutReference {
                                field: if r.dataset == dataset.key {
                                    format!("{}.{}", r.collection, r.field)
                                } else {
                                    format!("{}.{}.{}", r.dataset, r.collection, r.field)
                                },
                                direction: r.direction,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    };
    toml::to_string(&out)
}
