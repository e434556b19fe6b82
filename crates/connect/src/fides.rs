//! Fides dataset YAML, read as it is: `dataset:` with one or more datasets, `fides_meta` or the
//! older `fidesops_meta` on datasets, collections and fields (identity, references with their
//! direction, primary_key, data_type, read_only, erase_after, skip_processing, masking
//! overrides with a collection-level `delete`). Keys this reader has no use for are ignored,
//! as Fides ignores them. A Fides file has no connection, purposes or tenant: the policy gives
//! them beside it.

use crate::dataset::{Collection, Dataset, Direction, Field, Masking, Reference, TenantScope};
use crate::problem::{Places, Problem};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    dataset: Vec<RawDataset>,
}

#[derive(Deserialize)]
struct RawDataset {
    fides_key: String,
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    collections: Vec<RawCollection>,
}

#[derive(Deserialize)]
struct RawCollection {
    name: String,
    description: Option<String>,
    #[serde(default)]
    fields: Vec<RawField>,
    fides_meta: Option<CollectionMeta>,
    fidesops_meta: Option<CollectionMeta>,
}

#[derive(Deserialize, Default)]
struct CollectionMeta {
    #[serde(default)]
    erase_after: Vec<String>,
    #[serde(default)]
    skip_processing: bool,
    masking_strategy_override: Option<StrategyOverride>,
}

#[derive(Deserialize)]
struct StrategyOverride {
    strategy: String,
    #[serde(default)]
    configuration: Option<serde_yaml::Value>,
}

#[derive(Deserialize)]
struct RawField {
    name: String,
    #[serde(default)]
    data_categories: Option<Vec<String>>,
    fides_meta: Option<FieldMeta>,
    fidesops_meta: Option<FieldMeta>,
    /// Nested fields (documents); a relational table has none.
    #[serde(default)]
    fields: Option<Vec<serde_yaml::Value>>,
}

#[derive(Deserialize, Default)]
struct FieldMeta {
    #[serde(default)]
    references: Option<Vec<RawReference>>,
    identity: Option<String>,
    primary_key: Option<bool>,
    data_type: Option<String>,
    read_only: Option<bool>,
    masking_strategy_override: Option<StrategyOverride>,
}

#[derive(Deserialize)]
struct RawReference {
    dataset: String,
    field: String,
    direction: Option<String>,
}

/// Reads every dataset of a Fides YAML file; `file` names it in problems.
pub fn parse(file: &str, text: &str) -> Result<Vec<(Dataset, Places)>, Vec<Problem>> {
    let raw: File = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        vec![Problem {
            file: file.into(),
            line,
            column,
            message: format!("not a Fides dataset file: {e}"),
            hint: Some("a Fides dataset file starts with `dataset:` and lists datasets with fides_key and collections".into()),
        }]
    })?;
    let located = locate(text);
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for (d, raw_dataset) in raw.dataset.into_iter().enumerate() {
        let mut places = Places::new(file);
        for (path, (line, column)) in located
            .iter()
            .filter(|(_, (ds, _))| *ds == d)
            .map(|(p, (_, at))| (p, at))
        {
            places.set(path.clone(), *line, *column);
        }
        let key = raw_dataset.fides_key.clone();
        let mut collections = Vec::new();
        for raw_collection in raw_dataset.collections {
            let name = raw_collection.name.clone();
            let meta = raw_collection
                .fides_meta
                .or(raw_collection.fidesops_meta)
                .unwrap_or_default();
            let delete_rows = match meta
                .masking_strategy_override
                .as_ref()
                .map(|o| o.strategy.as_str())
            {
                None => false,
                Some("delete") => true,
                Some(other) => {
                    problems.push(places.problem(
                        &name,
                        format!("collection {name}: masking_strategy_override `{other}` is not one a collection can take"),
                        Some("a collection's override is `strategy: delete`; field overrides go on the fields".into()),
                    ));
                    false
                }
            };
            let mut fields = Vec::new();
            for raw_field in raw_collection.fields {
                let path = format!("{name}.{}", raw_field.name);
                if raw_field.fields.as_ref().is_some_and(|f| !f.is_empty()) {
                    problems.push(places.problem(
                        &path,
                        format!("field {path} has nested fields, which a relational table does not"),
                        Some("declare the columns of the table; documents (MongoDB) are not reached by these connectors".into()),
                    ));
                }
                let meta = raw_field
                    .fides_meta
                    .or(raw_field.fidesops_meta)
                    .unwrap_or_default();
                let mut references = Vec::new();
                for (i, reference) in meta.references.unwrap_or_default().into_iter().enumerate() {
                    let at = format!("{path}.references[{i}]");
                    let direction = match reference.direction.as_deref() {
                        None => Some(Direction::Both),
                        Some("to") => Some(Direction::To),
                        Some("from") => Some(Direction::From),
                        Some(other) => {
                            problems.push(places.problem(
                                &at,
                                format!("direction `{other}` of a reference of {path}"),
                                Some("a reference's direction is `to` or `from`, or left out for both".into()),
                            ));
                            None
                        }
                    };
                    match (reference.field.split_once('.'), direction) {
                        (Some((collection, field)), Some(direction)) if !collection.is_empty() && !field.is_empty() && !field.contains('.') => {
                            references.push(Reference {
                                dataset: reference.dataset,
                                collection: collection.into(),
                                field: field.into(),
                                direction,
                            })
                        }
                        (_, Some(_)) => problems.push(places.problem(
                            &at,
                            format!("reference `{}` of {path} does not name collection.field", reference.field),
                            Some("write `field: collection.field` with the dataset in `dataset:`".into()),
                        )),
                        _ => {}
                    }
                }
                let masking = match meta.masking_strategy_override {
                    None => None,
                    Some(o) => match masking(&o) {
                        Ok(m) => Some(m),
                        Err(hint) => {
                            problems.push(places.problem(
                                &path,
                                format!("field {path}: masking strategy `{}` is not one ombud carries out", o.strategy),
                                Some(hint),
                            ));
                            None
                        }
                    },
                };
                fields.push(Field {
                    name: raw_field.name,
                    categories: raw_field.data_categories.unwrap_or_default(),
                    identity: meta.identity,
                    references,
                    primary_key: meta.primary_key.unwrap_or(false),
                    data_type: meta.data_type,
                    read_only: meta.read_only.unwrap_or(false),
                    masking,
                });
            }
            collections.push(Collection {
                name,
                description: raw_collection.description,
                fields,
                delete_rows,
                erase_after: meta.erase_after,
                expires_by: None,
                skip: meta.skip_processing,
            });
        }
        out.push((
            Dataset {
                name: raw_dataset.name.unwrap_or_else(|| key.clone()),
                key,
                description: raw_dataset.description,
                connection: None,
                purposes: Vec::new(),
                tenant: TenantScope::Operator,
                collections,
            },
            places,
        ));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Fides' field masking strategies, as ombud carries them out.
fn masking(o: &StrategyOverride) -> Result<Masking, String> {
    let setting = |name: &str| o.configuration.as_ref().and_then(|c| c.get(name)).cloned();
    match o.strategy.as_str() {
        "null_rewrite" => Ok(Masking::Null),
        "string_rewrite" => {
            let value = setting("rewrite_value")
                .and_then(|v| v.as_str().map(str::to_owned))
                .ok_or("string_rewrite needs configuration.rewrite_value")?;
            let suffix = setting("format_preservation")
                .and_then(|f| f.get("suffix").and_then(|s| s.as_str().map(str::to_owned)))
                .unwrap_or_default();
            Ok(Masking::Fixed {
                value: format!("{value}{suffix}"),
            })
        }
        // Fides' `hash` is a salted digest; a keyed digest keeps the same property (equal values
        // stay equal, the value cannot be read back).
        "hmac" | "hash" => Ok(Masking::Hmac),
        "random_string_rewrite" => Ok(Masking::RandomString {
            length: setting("length")
                .and_then(|l| l.as_u64())
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(30),
        }),
        _ => Err("use null_rewrite, string_rewrite, hmac, hash or random_string_rewrite".into()),
    }
}

/// Where each dataset's collections, fields and their parts are in the text: Fides files are
/// regular enough (`- name:` items under `collections:` and `fields:`) to find them by line.
/// (path, (which dataset of the file, (line, column))).
type Located = Vec<(String, (usize, (usize, usize)))>;

fn locate(text: &str) -> Located {
    let mut out = Vec::new();
    let mut dataset: Option<usize> = None;
    let mut collection_indent: Option<usize> = None;
    let mut field_indent: Option<usize> = None;
    let mut collection = String::new();
    let mut field = String::new();
    let mut references = 0;
    let mut categories_line = None;
    for (n, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        let at = |offset: usize| (n + 1, indent + offset + 1);
        if trimmed.starts_with("- fides_key:") {
            dataset = Some(dataset.map_or(0, |d| d + 1));
            collection_indent = None;
            field_indent = None;
            continue;
        }
        let Some(d) = dataset else { continue };
        if let Some(name) = trimmed.strip_prefix("- name:") {
            let name = name.trim().trim_matches(['"', '\'']).to_owned();
            match (collection_indent, field_indent) {
                (None, _) => {
                    collection_indent = Some(indent);
                    collection = name;
                    out.push((collection.clone(), (d, at(2))));
                }
                (Some(c), _) if indent <= c => {
                    field_indent = None;
                    collection = name;
                    out.push((collection.clone(), (d, at(2))));
                }
                (Some(_), None) => {
                    field_indent = Some(indent);
                    field = name;
                    references = 0;
                    out.push((format!("{collection}.{field}"), (d, at(2))));
                }
                (Some(_), Some(f)) if indent <= f => {
                    field = name;
                    references = 0;
                    out.push((format!("{collection}.{field}"), (d, at(2))));
                }
                _ => {}
            }
            continue;
        }
        if field_indent.is_none() {
            continue;
        }
        let path = format!("{collection}.{field}");
        if trimmed.starts_with("data_categories:") {
            categories_line = Some(n);
            if let Some(open) = line.find('[') {
                let mut offset = open + 1;
                for (i, item) in line[open + 1..].split([',', ']']).enumerate() {
                    let lead = item.len() - item.trim_start().len();
                    if !item.trim().is_empty() {
                        out.push((
                            format!("{path}.categories[{i}]"),
                            (d, (n + 1, offset + lead + 1)),
                        ));
                    }
                    offset += item.len() + 1;
                }
            }
        } else if let Some(item) = trimmed
            .strip_prefix("- ")
            .filter(|_| categories_line.is_some_and(|c| c < n))
        {
            // Block-style category lists: `- user.name` lines right after `data_categories:`.
            let i = out
                .iter()
                .filter(|(p, _)| p.starts_with(&format!("{path}.categories[")))
                .count();
            if !item.contains(':') {
                out.push((format!("{path}.categories[{i}]"), (d, at(2))));
                categories_line = Some(n);
            }
        } else if trimmed.starts_with("identity:") {
            out.push((format!("{path}.identity"), (d, at(0))));
        } else if trimmed.starts_with("- dataset:") {
            out.push((format!("{path}.references[{references}]"), (d, at(2))));
            references += 1;
        }
        if !trimmed.starts_with("- ") && !trimmed.starts_with("data_categories:") {
            categories_line = None;
        }
    }
    out
}
