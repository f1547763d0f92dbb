-- The search page counts a search's matches by outlet: with the outlet in the index, that reads
-- the index alone instead of one occurrence row (its long texts) per match. It serves every
-- look-up the single-column index served, which goes.
CREATE INDEX occurrences_statement_outlet ON occurrences (statement_id, outlet);
DROP INDEX occurrences_statement;
