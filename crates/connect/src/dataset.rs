//! What a dataset declares, whichever file it came from: collections (tables) in one
//! connection, their fields with data categories, identities, references and how each is
//! erased. Both readers (`native.rs`, `fides.rs`) produce these; nothing here reads a file.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    /// The dataset's key, unique in the policy (`fides_key` in Fides).
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    /// Where its database is; absent in a Fides file, given beside it in the policy.
    pub connection: Option<Connection>,
    /// The policy's activities that use these rows: their retention and legal-obligation rules
    /// apply to them.
    pub purposes: Vec<String>,
    pub tenant: TenantScope,
    pub collections: Vec<Collection>,
}

pub use ombud_policy::model::{DatabaseKind as Kind, DatasetConnection as Connection};

/// Whose rows these are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantScope {
    /// The operator's own database: its requests reach every row.
    Operator,
    /// One customer's database (by tenant name or id): only that customer's requests reach it.
    Customer(String),
    /// A database shared by customers: a column of every collection says whose a row is, and
    /// its values map to tenants (by tenant name or id).
    Column {
        column: String,
        values: BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    pub name: String,
    pub description: Option<String>,
    pub fields: Vec<Field>,
    /// Erase by deleting the row instead of masking its fields.
    pub delete_rows: bool,
    /// Collections whose rows must be erased before this one's (Fides' `erase_after`), as
    /// `dataset.collection`.
    pub erase_after: Vec<String>,
    /// The column retention counts from (a date or time of the row).
    pub expires_by: Option<String>,
    /// Left out of every request (Fides' `skip_processing`).
    pub skip: bool,
}

impl Collection {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn primary_key(&self) -> Vec<&Field> {
        self.fields.iter().filter(|f| f.primary_key).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub categories: Vec<String>,
    /// The kind of identity this field holds (`email`, `phone`, `user_id`, …): requests start
    /// here with the person's identity of that kind.
    pub identity: Option<String>,
    pub references: Vec<Reference>,
    pub primary_key: bool,
    pub data_type: Option<String>,
    pub read_only: bool,
    /// How erasure changes this field when the collection masks rather than deletes.
    pub masking: Option<Masking>,
}

/// A link between this field and a field of another collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub dataset: String,
    pub collection: String,
    pub field: String,
    pub direction: Direction,
}

/// Which way a traversal may follow a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From this field to the referenced one: this row's value finds rows there.
    To,
    /// From the referenced field to this one: rows found there find rows here.
    From,
    /// Both ways.
    Both,
}

/// What erasure writes into a field it masks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "strategy")]
pub enum Masking {
    Null,
    Fixed {
        value: String,
    },
    /// HMAC-SHA-256 of the value under the tenant's key: the same value gets the same mask,
    /// so joins on masked values still hold.
    Hmac,
    RandomString {
        length: usize,
    },
}

impl Dataset {
    pub fn collection(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }
}
