-- Public warnings (issue 8): the warning with its draft and what is out, and every CAP message
-- that went out, kept as the XML it was (a gateway that fetched one reads it unchanged).
CREATE TABLE public_warnings (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX public_warnings_by_state ON public_warnings (state);

CREATE TABLE cap_messages (
    identifier TEXT PRIMARY KEY,
    warning_id TEXT NOT NULL REFERENCES public_warnings(id),
    sent BIGINT NOT NULL,
    msg_type TEXT NOT NULL,
    xml TEXT NOT NULL
);
CREATE INDEX cap_messages_by_warning ON cap_messages (warning_id, sent);
