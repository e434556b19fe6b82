-- A customer tenant's details as controller (address, contact, DPO, authority, notice link)
-- and its portal's display name and colour, as one JSON document. Tenants created before have
-- none: their portal names the tenant and says nothing it does not know.
ALTER TABLE tenants ADD COLUMN profile text;
