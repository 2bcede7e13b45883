-- The event feed's type filter (GET /queries/events?type=…, API.md "Event
-- feed filters") reads this index: the events of some types after a
-- position, in position order, without a scan of the whole store. One
-- aggregate's events already have events_aggregate (001).
ALTER TABLE events ADD KEY events_type (`type`, position);
