DROP TABLE audit_log;
DROP TABLE chain_heads;
DROP TABLE api_keys;
DROP TABLE unit_overrides;
