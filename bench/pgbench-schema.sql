-- The tables one transition touches, cut down to the columns it writes.
CREATE TABLE run (
    id bigint PRIMARY KEY,
    state_id uuid,
    state_type text,
    state_name text,
    state_timestamp timestamptz,
    run_count integer NOT NULL DEFAULT 0,
    updated timestamptz
);
CREATE TABLE run_state (
    id uuid PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    type text NOT NULL,
    name text NOT NULL,
    timestamp timestamptz NOT NULL,
    state_details text NOT NULL
);
CREATE UNIQUE INDEX ON run_state (run_id, timestamp);
INSERT INTO run (id) SELECT g FROM generate_series(1, 100000) g;
