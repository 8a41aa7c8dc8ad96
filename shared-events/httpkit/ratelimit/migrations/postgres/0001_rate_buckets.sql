-- One leaky bucket per key (such as "login-ip:" and a hash of the address):
-- how full it was at updated_at_us (Unix microseconds). The rate is not stored: it
-- is configuration, applied when the bucket is read.
--
-- No index on updated_at_us: only the occasional Sweep would use it, while every
-- allowed attempt would pay to update it (and lose PostgreSQL's HOT updates).
CREATE TABLE rate_buckets (
    bucket        TEXT             PRIMARY KEY,
    level         DOUBLE PRECISION NOT NULL,
    updated_at_us BIGINT           NOT NULL
);
