DROP TABLE exemptions;
