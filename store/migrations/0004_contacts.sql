-- 0004: the phone book. A contact has numbers (E.164, each the number of
-- one contact only) and tags; external transfers dial only numbers of
-- contacts tagged external_number. Contacts of the configuration are
-- managed (read-only through the API).

CREATE TABLE contacts (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    managed    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX contacts_name ON contacts (name);

CREATE TABLE contact_numbers (
    number     TEXT    NOT NULL PRIMARY KEY,  -- unique across contacts
    contact_id TEXT    NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL               -- order within the contact
) STRICT;

CREATE INDEX contact_numbers_contact ON contact_numbers (contact_id);

CREATE TABLE contact_tags (
    contact_id TEXT    NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tag        TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (contact_id, tag)
) STRICT;

CREATE INDEX contact_tags_tag ON contact_tags (tag);
