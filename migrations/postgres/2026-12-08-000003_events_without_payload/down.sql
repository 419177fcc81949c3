-- The column comes back refilled from the JWS: its payload segment, base64url without padding.
ALTER TABLE events ADD COLUMN payload TEXT;
UPDATE events SET payload = convert_from(
    decode(
        rpad(
            translate(split_part(jws, '.', 2), '-_', '+/'),
            ((length(split_part(jws, '.', 2)) + 3) / 4) * 4,
            '='
        ),
        'base64'
    ),
    'UTF8'
);
ALTER TABLE events ALTER COLUMN payload SET NOT NULL;
