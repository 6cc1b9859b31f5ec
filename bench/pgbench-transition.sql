-- One state transition without the server: lock the run row, insert its new state, update the run.
\set rid random(1, 100000)
BEGIN;
SELECT id, state_id, state_type, run_count FROM run WHERE id = :rid FOR UPDATE;
INSERT INTO run_state (id, run_id, type, name, timestamp, state_details)
    VALUES (gen_random_uuid(), :rid, 'RUNNING', 'Running', clock_timestamp(), '{"flow_run_id": null, "task_run_id": null}');
UPDATE run SET state_type = 'RUNNING', state_name = 'Running', state_timestamp = clock_timestamp(),
    run_count = run_count + 1, updated = now() WHERE id = :rid;
COMMIT;
