-- Background work several replicas could do at once (the sweep, the deadline watcher) is
-- done by whichever holds the job's lease; a replica that dies leaves it to expire. One row
-- per job, shared by all tenants: a reference table on a distributed PostgreSQL.
CREATE TABLE job_leases (
    job           text PRIMARY KEY,
    holder        uuid NOT NULL,
    leased_until  bigint NOT NULL
);
