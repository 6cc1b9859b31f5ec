-- Adds :n completed task runs (one state each) to the flow run named 'seed', for the stored-data test.
INSERT INTO task_run (id, created, updated, name, run_count, total_run_time, empirical_policy, tags,
                      flow_run_id, task_key, dynamic_key, task_inputs, flow_run_run_count)
SELECT gen_random_uuid(), now(), now(), 'seed-' || g, 1, interval '0',
       '{"max_retries":0,"retry_delay_seconds":0,"retries":null,"retry_delay":null}', '{}',
       (SELECT id FROM flow_run WHERE name = 'seed' LIMIT 1), 'seed.task', :'batch' || '-' || g, '{}', 1
FROM generate_series(1, :n) g;
INSERT INTO task_run_state (id, created, updated, task_run_id, type, name, timestamp, state_details)
SELECT gen_random_uuid(), now(), now(), id, 'COMPLETED', 'Completed', now(), '{}'
FROM task_run WHERE task_key = 'seed.task' AND state_id IS NULL;
UPDATE task_run t SET state_id = s.id, state_type = 'COMPLETED', state_name = 'Completed', state_timestamp = s.timestamp
FROM task_run_state s WHERE s.task_run_id = t.id AND t.task_key = 'seed.task' AND t.state_id IS NULL;
ANALYZE task_run;
ANALYZE task_run_state;
