-- 0002: a queue's id is its name, and so is a waiting strategy's: the name a
-- flow uses (lowercase letters, digits, '-' and '_', at most 64 characters).
-- The Default queue (id "default") was named "Default": it is now "default".
-- Queues and waiting strategies created through the API had random ids: each
-- whose name is such a name, and no other object's id, takes its name as id,
-- with the agents' memberships and the history (conversations, call records)
-- that named it. A queue whose name is not one keeps its id.

UPDATE queues SET name = 'default' WHERE id = 'default' AND name = 'Default';

PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE renamed_queues AS
    SELECT id AS old_id, name AS new_id FROM queues
    WHERE id <> name AND length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^a-z0-9_-]*'
        AND name NOT IN (SELECT id FROM queues);

UPDATE agent_queues SET queue_id = (SELECT new_id FROM renamed_queues WHERE old_id = queue_id)
    WHERE queue_id IN (SELECT old_id FROM renamed_queues);
UPDATE conversations SET queue = (SELECT new_id FROM renamed_queues WHERE old_id = queue)
    WHERE queue IN (SELECT old_id FROM renamed_queues);
UPDATE call_records SET queue = (SELECT new_id FROM renamed_queues WHERE old_id = queue)
    WHERE queue IN (SELECT old_id FROM renamed_queues);
UPDATE queues SET id = name WHERE id IN (SELECT old_id FROM renamed_queues);

DROP TABLE renamed_queues;

CREATE TEMP TABLE renamed_strategies AS
    SELECT id AS old_id, name AS new_id FROM waiting_strategies
    WHERE id <> name AND length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^a-z0-9_-]*'
        AND name NOT IN (SELECT id FROM waiting_strategies);

-- A queue that named its waiting strategy by the old id names it by the new.
UPDATE queues SET waiting_strategy = (SELECT new_id FROM renamed_strategies WHERE old_id = waiting_strategy)
    WHERE waiting_strategy IN (SELECT old_id FROM renamed_strategies);
UPDATE waiting_strategies SET id = name WHERE id IN (SELECT old_id FROM renamed_strategies);

DROP TABLE renamed_strategies;
