DROP INDEX records_authority_date;
DROP INDEX records_date_id;
