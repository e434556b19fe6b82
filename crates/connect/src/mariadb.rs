//! MySQL and MariaDB: the same reads and changes as the other connectors, in their dialect
//! (identifiers in backticks, `?` placeholders, `DELETE … LIMIT` batches). Sessions run in
//! UTC so that TIMESTAMP columns compare as the other databases' do.

use crate::reach::{Select, WITHHELD};
use crate::sql::{Applied, Column, Columns, ConnectError, Expiry, TableChanges};
use mysql::prelude::Queryable;

/// `` `name` ``, with backticks inside doubled.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn failed(what: &str, e: &mysql::Error) -> ConnectError {
    // The server's message only: never the URL, which may carry a password.
    let text = match e {
        mysql::Error::MySqlError(e) => e.message.clone(),
        mysql::Error::UrlError(_) => "the URL is not a mysql:// URL".into(),
        other => other.to_string(),
    };
    ConnectError::new(format!("{what}: {text}"))
}

pub fn open(dataset: &str, url: &str) -> Result<mysql::Conn, ConnectError> {
    let opts = mysql::Opts::from_url(url).map_err(|_| {
        ConnectError::new(format!(
            "dataset `{dataset}`: the URL is not a mysql:// URL (mysql://user:password@host:3306/database)"
        ))
    })?;
    let mut conn = mysql::Conn::new(opts).map_err(|e| {
        failed(
            &format!("dataset `{dataset}`: cannot connect to MySQL/MariaDB"),
            &e,
        )
    })?;
    conn.query_drop("SET time_zone = '+00:00'")
        .map_err(|e| failed(&format!("dataset `{dataset}`"), &e))?;
    Ok(conn)
}

fn params(values: &[String]) -> mysql::Params {
    if values.is_empty() {
        return mysql::Params::Empty;
    }
    mysql::Params::Positional(
        values
            .iter()
            .map(|v| mysql::Value::from(v.as_str()))
            .collect(),
    )
}

fn text(row: &mut mysql::Row, i: usize) -> Option<String> {
    match row.take::<mysql::Value, _>(i) {
        None | Some(mysql::Value::NULL) => None,
        Some(mysql::Value::Bytes(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Some(other) => Some(other.as_sql(true).trim_matches('\'').to_owned()),
    }
}

pub fn columns(
    conn: &mut mysql::Conn,
    schema: Option<&str>,
    table: &str,
) -> Result<Option<Columns>, ConnectError> {
    let sql = "SELECT column_name, data_type, character_maximum_length, is_nullable
                 FROM information_schema.columns
                WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?";
    let rows: Vec<mysql::Row> = conn
        .exec(
            sql,
            mysql::Params::Positional(vec![
                schema.map_or(mysql::Value::NULL, mysql::Value::from),
                mysql::Value::from(table),
            ]),
        )
        .map_err(|e| failed(&format!("while reading the columns of {table}"), &e))?;
    let mut found = Columns::new();
    for mut row in rows {
        let name = text(&mut row, 0).unwrap_or_default();
        let kind = text(&mut row, 1).unwrap_or_default();
        let max_len = text(&mut row, 2).and_then(|n| n.parse::<usize>().ok());
        let not_null = text(&mut row, 3).as_deref() == Some("NO");
        found.insert(
            name,
            Column {
                kind,
                max_len,
                not_null,
            },
        );
    }
    Ok((!found.is_empty()).then_some(found))
}

pub fn select(
    conn: &mut mysql::Conn,
    select: &Select<'_>,
    values: &[String],
) -> Result<Vec<Vec<Option<String>>>, ConnectError> {
    let table = select.collection.name.as_str();
    let list: Vec<String> = select
        .fields
        .iter()
        .map(|f| {
            if select.withheld.contains(f) {
                format!(
                    "CASE WHEN {} IS NULL THEN NULL ELSE '{WITHHELD}' END",
                    quote(f)
                )
            } else {
                format!("CAST({} AS CHAR)", quote(f))
            }
        })
        .collect();
    let mut out = Vec::new();
    for chunk in values.chunks(1000) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let by = if select.fold_case {
            format!("LOWER({}) IN ({marks})", quote(select.by))
        } else {
            format!("{} IN ({marks})", quote(select.by))
        };
        let mut sql = format!(
            "SELECT {} FROM {} WHERE {by}",
            list.join(", "),
            quote(table)
        );
        let mut bound: Vec<String> = chunk.to_vec();
        if let Some((column, mine)) = &select.scope {
            let marks = vec!["?"; mine.len()].join(", ");
            sql.push_str(&format!(
                " AND CAST({} AS CHAR) IN ({marks})",
                quote(column)
            ));
            bound.extend(mine.iter().cloned());
        }
        let rows: Vec<mysql::Row> = conn.exec(&sql, params(&bound)).map_err(|e| {
            failed(
                &format!("dataset `{}`: reading {table} failed", select.dataset.key),
                &e,
            )
        })?;
        for mut row in rows {
            out.push(
                (0..select.fields.len())
                    .map(|i| text(&mut row, i))
                    .collect(),
            );
        }
    }
    Ok(out)
}

pub fn foreign_keys(
    conn: &mut mysql::Conn,
    schema: Option<&str>,
) -> Result<Vec<(String, String)>, ConnectError> {
    let rows: Vec<mysql::Row> = conn
        .exec(
            "SELECT table_name, referenced_table_name FROM information_schema.key_column_usage
              WHERE table_schema = COALESCE(?, DATABASE()) AND referenced_table_name IS NOT NULL",
            mysql::Params::Positional(vec![schema.map_or(mysql::Value::NULL, mysql::Value::from)]),
        )
        .map_err(|e| failed("while reading foreign keys", &e))?;
    Ok(rows
        .into_iter()
        .map(|mut r| {
            (
                text(&mut r, 0).unwrap_or_default(),
                text(&mut r, 1).unwrap_or_default(),
            )
        })
        .collect())
}

pub fn apply(
    conn: &mut mysql::Conn,
    dataset: &str,
    changes: &[TableChanges],
) -> Result<Vec<(String, Applied)>, ConnectError> {
    let failed_in = |table: &str, e: &mysql::Error| {
        failed(
            &format!(
                "dataset `{dataset}`: changing {table} failed (nothing in this database was changed)"
            ),
            e,
        )
    };
    let mut tx = conn
        .start_transaction(mysql::TxOpts::default())
        .map_err(|e| failed_in("the database", &e))?;
    let mut out = Vec::new();
    for table in changes {
        let mut applied = Applied::default();
        for row in &table.rows {
            let mut bound: Vec<String> = Vec::new();
            let sql = row.statement(&quote(&table.table), quote, |_, value| {
                bound.push(value.to_owned());
                "?".into()
            });
            tx.exec_drop(&sql, params(&bound))
                .map_err(|e| failed_in(&table.table, &e))?;
            let n = tx.affected_rows();
            if row.set.is_some() {
                applied.updated += n;
            } else {
                applied.deleted += n;
            }
        }
        out.push((table.table.clone(), applied));
    }
    tx.commit().map_err(|e| failed_in("the database", &e))?;
    Ok(out)
}

/// How many rows of `table` meet the condition (`?` placeholders for `bound`).
pub fn count_expired(
    conn: &mut mysql::Conn,
    table: &str,
    condition: &str,
    bound: &[String],
) -> Result<u64, ConnectError> {
    let n: Option<u64> = conn
        .exec_first(
            format!("SELECT COUNT(*) FROM {} WHERE {condition}", quote(table)),
            params(bound),
        )
        .map_err(|e| failed(&format!("counting {table}"), &e))?;
    Ok(n.unwrap_or(0))
}

/// Removes (or anonymises) up to `batch` rows that meet the condition; returns how many.
pub fn expire_batch(
    conn: &mut mysql::Conn,
    table: &str,
    condition: &str,
    bound: &[String],
    expiry: &Expiry,
    batch: usize,
) -> Result<u64, ConnectError> {
    let target = quote(table);
    let sql = match expiry {
        Expiry::Delete => format!("DELETE FROM {target} WHERE {condition} LIMIT {batch}"),
        Expiry::Anonymise(fields) => format!(
            "UPDATE {target} SET {} WHERE {condition} AND NOT ({}) LIMIT {batch}",
            fields
                .iter()
                .map(|f| format!("{} = NULL", quote(f)))
                .collect::<Vec<_>>()
                .join(", "),
            fields
                .iter()
                .map(|f| format!("{} IS NULL", quote(f)))
                .collect::<Vec<_>>()
                .join(" AND ")
        ),
    };
    conn.exec_drop(&sql, params(bound))
        .map_err(|e| failed(&format!("removing expired rows of {table}"), &e))?;
    Ok(conn.affected_rows())
}

/// Columns (table, column, in the primary key) and single-column foreign keys (table, column,
/// referenced table, referenced column) of the schema.
#[allow(clippy::type_complexity)]
pub fn schema(
    conn: &mut mysql::Conn,
    schema: Option<&str>,
) -> Result<
    (
        Vec<(String, String, bool)>,
        Vec<(String, String, String, String)>,
    ),
    ConnectError,
> {
    let database =
        || mysql::Params::Positional(vec![schema.map_or(mysql::Value::NULL, mysql::Value::from)]);
    let rows: Vec<mysql::Row> = conn
        .exec(
            "SELECT c.table_name, c.column_name, c.column_key = 'PRI'
               FROM information_schema.columns c
               JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
              WHERE c.table_schema = COALESCE(?, DATABASE()) AND t.table_type = 'BASE TABLE'
              ORDER BY c.table_name, c.ordinal_position",
            database(),
        )
        .map_err(|e| failed("while reading the schema", &e))?;
    let columns = rows
        .into_iter()
        .map(|mut r| {
            (
                text(&mut r, 0).unwrap_or_default(),
                text(&mut r, 1).unwrap_or_default(),
                text(&mut r, 2).as_deref() == Some("1"),
            )
        })
        .collect();
    let rows: Vec<mysql::Row> = conn
        .exec(
            "SELECT table_name, column_name, referenced_table_name, referenced_column_name
               FROM information_schema.key_column_usage
              WHERE table_schema = COALESCE(?, DATABASE()) AND referenced_table_name IS NOT NULL",
            database(),
        )
        .map_err(|e| failed("while reading foreign keys", &e))?;
    let keys = rows
        .into_iter()
        .map(|mut r| {
            (
                text(&mut r, 0).unwrap_or_default(),
                text(&mut r, 1).unwrap_or_default(),
                text(&mut r, 2).unwrap_or_default(),
                text(&mut r, 3).unwrap_or_default(),
            )
        })
        .collect();
    Ok((columns, keys))
}

/// Up to `limit` rows of `table`, each column as text, for discovery.
pub fn sample(
    conn: &mut mysql::Conn,
    schema: Option<&str>,
    table: &str,
    columns: &[String],
    limit: usize,
) -> Result<Vec<Vec<Option<String>>>, ConnectError> {
    let list: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({} AS CHAR)", quote(c)))
        .collect();
    let from = match schema {
        Some(schema) => format!("{}.{}", quote(schema), quote(table)),
        None => quote(table),
    };
    let sql = format!("SELECT {} FROM {from} LIMIT {limit}", list.join(", "));
    let rows: Vec<mysql::Row> = conn
        .query(&sql)
        .map_err(|e| failed(&format!("while sampling table {table}"), &e))?;
    Ok(rows
        .into_iter()
        .map(|mut row| (0..columns.len()).map(|i| text(&mut row, i)).collect())
        .collect())
}
