-- National login (KAÜ) login-CSRF protection: each sign-in request is bound to the browser
-- that started it. `browser_hash` is the SHA-256 of a random value kept in a short-lived
-- HttpOnly cookie of that browser; the assertion consumer service accepts a response only
-- together with the cookie of the request it answers. Requests sent before this column
-- existed have none and can no longer be answered (they expire within minutes anyway).
ALTER TABLE kau_request ADD COLUMN browser_hash bytea;
