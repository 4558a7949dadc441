-- Prompt-cache usage of each request: the part of input_tokens read from the provider's cache and the part
-- written to it, each priced at the Model's cacheReadPer1K / cacheWritePer1K. Rows written before this
-- migration read as 0 (their cache usage, if any, was counted and priced as plain input).
ALTER TABLE request_logs
    ADD COLUMN cache_read_tokens  integer NOT NULL DEFAULT 0,
    ADD COLUMN cache_write_tokens integer NOT NULL DEFAULT 0;
