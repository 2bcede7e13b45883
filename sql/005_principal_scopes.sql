-- 005_principal_scopes.sql - who sent a command, now that there are principals.
--
-- Idempotency keys and queued commands are stored as "<scope>:<key>", the
-- scope of the principal that sent them ("admin" for the command token,
-- admin JWTs and a daemon without credentials; "c<N>" for customer N; "anon"
-- for anonymous clients; API.md "Authorization"). A customer finds only its
-- own commands by that key. An admin may read any command by its id alone:
-- this index answers that without a scan.
--
-- Keys written before this file were stored without a scope (or with the
-- command token's digest): they no longer replay. Keys are kept 24 hours, so
-- at most a day of retries is affected; queued commands keep running.
ALTER TABLE command_queue
    ADD KEY command_queue_command (command_id, seq);
