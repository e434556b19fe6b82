-- Background work several replicas could do at once (the sweep, the deadline watcher) is
-- done by whichever holds the job's lease; a replica that dies leaves it to expire.
CREATE TABLE job_leases (
    job           TEXT PRIMARY KEY,
    holder        BLOB NOT NULL,
    leased_until  INTEGER NOT NULL
);
