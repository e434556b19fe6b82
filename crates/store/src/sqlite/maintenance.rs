//! Maintenance on SQLite: the SQL behind [`crate::maintenance::Maintenance`].

use super::*;

impl crate::maintenance::Maintenance for SqliteStore {
    fn reload_master_key(&self, master: &MasterKey) {
        self.keyring.replace(master);
    }

    fn rewrap_keys(&self) -> Result<u64> {
        let keyring = self.keyring();
        let mut total = 0u64;
        for (table, key_columns, sealed_columns, mail) in SEALED {
            let keys = key_columns.split(", ").count();
            let columns = format!("{key_columns}, {}", sealed_columns.join(", "));
            let placeholders: Vec<String> = (1..=keys).map(|i| format!("?{i}")).collect();
            let select = format!(
                "SELECT {columns} FROM {table} WHERE ({key_columns}) > ({}) ORDER BY {key_columns} LIMIT {REWRAP_BATCH}",
                placeholders.join(", ")
            );
            let mut after: Vec<rusqlite::types::Value> = (0..keys)
                .map(|_| rusqlite::types::Value::Blob(vec![]))
                .collect();
            loop {
                let rows: Vec<Vec<rusqlite::types::Value>> = self.read(|conn| {
                    let mut statement = conn.prepare_cached(&select)?;
                    let rows =
                        statement.query_map(rusqlite::params_from_iter(after.iter()), |row| {
                            (0..keys + sealed_columns.len())
                                .map(|i| row.get::<_, rusqlite::types::Value>(i))
                                .collect()
                        })?;
                    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
                })?;
                let Some(last) = rows.last() else { break };
                after = last[..keys].to_vec();
                let mut updates = Vec::new();
                for row in &rows {
                    let id = |i: usize| match &row[i] {
                        rusqlite::types::Value::Blob(bytes) => uuid(bytes.clone()),
                        _ => Err(StoreError::Corrupt(format!("{table}: an id is not a blob"))),
                    };
                    let (tenant, object) = (id(0)?, id(1)?);
                    for (i, column) in sealed_columns.iter().enumerate() {
                        let rusqlite::types::Value::Blob(sealed) = &row[keys + i] else {
                            continue;
                        };
                        let resealed = crate::requests::reseal_column(
                            &keyring, mail, column, tenant, object, sealed,
                        )?;
                        if let Some(resealed) = resealed {
                            updates.push((row[..keys].to_vec(), *column, sealed.clone(), resealed));
                        }
                    }
                }
                if updates.is_empty() {
                    continue;
                }
                self.write(|tx| {
                    for (key, column, old, new) in &updates {
                        // Only if unchanged meanwhile: an erasure may have dropped the row, a
                        // second rotation may have sealed it already.
                        let condition: Vec<String> = key_columns
                            .split(", ")
                            .enumerate()
                            .map(|(i, c)| format!("{c} = ?{}", i + 3))
                            .collect();
                        let sql = format!(
                            "UPDATE {table} SET {column} = ?1 WHERE {column} = ?2 AND {}",
                            condition.join(" AND ")
                        );
                        let mut values = vec![
                            rusqlite::types::Value::Blob(new.clone()),
                            rusqlite::types::Value::Blob(old.clone()),
                        ];
                        values.extend(key.iter().cloned());
                        total += tx
                            .prepare_cached(&sql)?
                            .execute(rusqlite::params_from_iter(values.iter()))?
                            as u64;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(total)
    }

    fn sealed_generations(&self) -> Result<std::collections::BTreeMap<u32, u64>> {
        self.read(|conn| {
            let mut counts = std::collections::BTreeMap::new();
            for (table, _, sealed_columns, _) in SEALED {
                for column in sealed_columns {
                    // V1 values carry no generation (they are generation 1); V2 carry it in
                    // bytes 2 to 5.
                    let sql = format!(
                        "SELECT CASE WHEN substr({column}, 1, 1) = x'01' THEN x'01' ELSE substr({column}, 1, 5) END AS prefix, COUNT(*)
                         FROM {table} WHERE {column} IS NOT NULL GROUP BY prefix"
                    );
                    let mut statement = conn.prepare(&sql)?;
                    let rows = statement.query_map([], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?)))?;
                    for row in rows {
                        let (prefix, count) = row?;
                        let generation = crypto::sealed_generation(&prefix)
                            .ok_or_else(|| StoreError::Corrupt(format!("{table}.{column}: a sealed value of unknown format")))?;
                        *counts.entry(generation).or_insert(0) += count.max(0) as u64;
                    }
                }
            }
            Ok(counts)
        })
    }

    fn purge_deleted(&self) -> Result<()> {
        self.scrub()
    }

    fn take_lease(
        &self, job: &str, holder: uuid::Uuid, until: Timestamp, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "INSERT INTO job_leases (job, holder, leased_until) VALUES (?1, ?2, ?3)
                     ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, leased_until = excluded.leased_until
                     WHERE job_leases.holder = excluded.holder OR job_leases.leased_until <= ?4",
                )?
                .execute(params![job, holder.as_bytes(), micros(until), micros(at)])?;
            Ok(changed > 0)
        })
    }

    fn maintain(&self) -> Result<()> {
        let conn = self.pool.get()?;
        // A sample is enough to tell a selective column from one that is not, and keeps the
        // analysis short on large tables.
        conn.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize;")?;
        drop(conn);
        self.bound_log()
    }
}
