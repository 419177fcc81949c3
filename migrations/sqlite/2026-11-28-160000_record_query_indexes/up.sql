-- GET /v1/records sorts by (decision_date, id) and pages with a keyset on it; the unit filter
-- and a unit's view narrow by deciding authority first.
CREATE INDEX records_date_id ON records (decision_date, id);
CREATE INDEX records_authority_date ON records (authority_code, decision_date, id);
