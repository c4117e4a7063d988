-- The office's queue system (ügyfélhívó) as Kapu follows it: tickets tied to clients, the
-- event feed read after a stored cursor, the calls shown to the clerk at each counter, and
-- which counter each clerk sits at. No personal data here: clients only by id.

-- The feed: where Kapu is in the queue system's event stream and how the last reads went.
-- One row; the feed job locks it, so one reader at a time advances the cursor.
CREATE TABLE queue_feed (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    cursor bigint NOT NULL DEFAULT 0 CHECK (cursor >= 0),
    last_success_at timestamptz,
    -- The last failed read: the plugin's or queue system's words, never personal data.
    last_error text,
    last_error_at timestamptz,
    -- Failed reads since the last successful one (the back-off grows with it).
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0)
);
INSERT INTO queue_feed DEFAULT VALUES;

-- The events read, by their position in the vendor's stream: stored in the transaction that
-- advances the cursor, so none is lost and none stored twice.
CREATE TABLE queue_event (
    cursor bigint PRIMARY KEY CHECK (cursor > 0),
    ticket_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('issued', 'called', 'served', 'no_show')),
    counter text,
    -- The queue system's time of the event, as it sent it (RFC 3339).
    at text NOT NULL,
    received_at timestamptz NOT NULL,
    CHECK ((kind = 'called') = (counter IS NOT NULL))
);

-- A ticket Kapu issued through the queue plugin, optionally for a client.
CREATE TABLE queue_ticket (
    ticket_id text PRIMARY KEY,
    display_number text NOT NULL,
    service text NOT NULL,
    client_id uuid REFERENCES client (id) ON DELETE SET NULL,
    issued_by uuid REFERENCES staff (id) ON DELETE SET NULL,
    issued_at timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'called', 'served', 'no_show'))
);
CREATE INDEX queue_ticket_client ON queue_ticket (client_id, issued_at DESC);

-- A ticket called to a counter, from the feed or from a clerk's "call next" button. A call
-- from the button is matched with its event when the feed brings it (`event_cursor` set
-- then), so each call is shown once.
CREATE TABLE queue_call (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id text NOT NULL,
    counter text NOT NULL,
    called_at timestamptz NOT NULL,
    called_by uuid REFERENCES staff (id) ON DELETE SET NULL,
    event_cursor bigint UNIQUE REFERENCES queue_event (cursor)
);
CREATE INDEX queue_call_counter ON queue_call (counter, id DESC);
CREATE INDEX queue_call_ticket ON queue_call (ticket_id, counter) WHERE event_cursor IS NULL;

-- The counter a staff member sits at (set in their profile; kept until changed).
CREATE TABLE queue_seat (
    staff_id uuid PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,
    counter text NOT NULL CHECK (counter ~ '^[A-Za-z0-9-]{1,16}$'),
    since timestamptz NOT NULL
);
