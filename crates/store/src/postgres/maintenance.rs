//! Maintenance on PostgreSQL: the SQL behind [`crate::maintenance::Maintenance`].

use super::*;

impl crate::maintenance::Maintenance for PostgresStore {
    fn reload_master_key(&self, master: &MasterKey) {
        self.keyring.replace(master);
    }

    fn rewrap_keys(&self) -> Result<u64> {
        let keyring = self.keyring();
        let mut total = 0u64;
        for (table, id_column, sealed_columns, mail) in SEALED {
            let columns = format!("tenant_id, {id_column}, {}", sealed_columns.join(", "));
            let mut after: Option<(Uuid, Uuid)> = None;
            loop {
                let rows = self.read(|client| {
                    Ok(match &after {
                        None => client.query(
                            &format!("SELECT {columns} FROM {table} ORDER BY 1, 2 LIMIT {REWRAP_BATCH}"),
                            &[],
                        )?,
                        Some((t, id)) => client.query(
                            &format!("SELECT {columns} FROM {table} WHERE (tenant_id, {id_column}) > ($1, $2) ORDER BY 1, 2 LIMIT {REWRAP_BATCH}"),
                            &[t, id],
                        )?,
                    })
                })?;
                let Some(last) = rows.last() else { break };
                after = Some((last.get(0), last.get(1)));
                let mut updates = Vec::new();
                for row in &rows {
                    let (tenant, object): (Uuid, Uuid) = (row.get(0), row.get(1));
                    for (i, column) in sealed_columns.iter().enumerate() {
                        let Some(sealed) = row.get::<_, Option<Vec<u8>>>(2 + i) else {
                            continue;
                        };
                        let resealed = crate::requests::reseal_column(
                            &keyring, mail, column, tenant, object, &sealed,
                        )?;
                        if let Some(resealed) = resealed {
                            updates.push((tenant, object, *column, sealed, resealed));
                        }
                    }
                }
                if updates.is_empty() {
                    continue;
                }
                self.write(|tx| {
                    for (tenant, object, column, old, new) in &updates {
                        // Only if unchanged meanwhile: an erasure may have dropped the row, a
                        // second rotation may have sealed it already.
                        total += tx.execute(
                            &format!("UPDATE {table} SET {column} = $1 WHERE {column} = $2 AND tenant_id = $3 AND {id_column} = $4"),
                            &[new, old, tenant, object],
                        )?;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(total)
    }

    fn sealed_generations(&self) -> Result<std::collections::BTreeMap<u32, u64>> {
        self.read(|client| {
            let mut counts = std::collections::BTreeMap::new();
            for (table, _, sealed_columns, _) in SEALED {
                for column in sealed_columns {
                    // V1 values carry no generation (they are generation 1); V2 carry it in
                    // bytes 2 to 5.
                    let sql = format!(
                        "SELECT CASE WHEN substring({column} from 1 for 1) = '\\x01'::bytea THEN '\\x01'::bytea ELSE substring({column} from 1 for 5) END AS prefix, COUNT(*)
                         FROM {table} WHERE {column} IS NOT NULL GROUP BY prefix"
                    );
                    for row in client.query(&sql, &[])? {
                        let (prefix, count): (Vec<u8>, i64) = (row.get(0), row.get(1));
                        let generation = crate::crypto::sealed_generation(&prefix)
                            .ok_or_else(|| StoreError::Corrupt(format!("{table}.{column}: a sealed value of unknown format")))?;
                        *counts.entry(generation).or_insert(0) += count.max(0) as u64;
                    }
                }
            }
            Ok(counts)
        })
    }

    fn purge_deleted(&self) -> Result<()> {
        // Deleted rows are PostgreSQL's to vacuum; no query can read them any more.
        Ok(())
    }

    fn take_lease(
        &self, job: &str, holder: uuid::Uuid, until: Timestamp, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            // One statement: the row lock orders replicas asking at once, and the WHERE of the
            // update is evaluated again on the row the winner wrote.
            let changed = tx.execute(
                "INSERT INTO job_leases (job, holder, leased_until) VALUES ($1, $2, $3)
                 ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, leased_until = excluded.leased_until
                 WHERE job_leases.holder = excluded.holder OR job_leases.leased_until <= $4",
                &[&job, &holder, &micros(until), &micros(at)],
            )?;
            Ok(changed > 0)
        })
    }

    fn maintain(&self) -> Result<()> {
        // Autovacuum keeps the statistics where it runs, a minute or so after the change; right
        // after a bulk import (or on a server with it off) the planner would still see empty
        // tables. A table changed by more than autovacuum's own threshold since it was last
        // analysed is analysed here: one catalogue read when nothing is owed.
        self.read(|client| {
            let stale: Vec<String> = client
                .query(
                    "SELECT relname FROM pg_stat_user_tables
                     WHERE schemaname = current_schema() AND relname = ANY($1) AND n_mod_since_analyze > 50 + n_live_tup / 10",
                    &[&PLANNED_BY_SIZE.as_slice()],
                )?
                .iter()
                .map(|row| row.get(0))
                .collect();
            for table in stale {
                client.batch_execute(&format!("ANALYZE \"{}\"", table.replace('"', "\"\"")))?;
            }
            Ok(())
        })
    }
}

/// The tables whose query plans depend on how many rows they hold.
const PLANNED_BY_SIZE: [&str; 6] = [
    "subjects",
    "identities",
    "records",
    "events",
    "subject_keys",
    "tombstones",
];
