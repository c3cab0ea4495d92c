-- The phrases the tagging stage mined, with their tokens: a new lot's title is tagged with these only.
SELECT phrase, tokens FROM tags.mined_tags ORDER BY phrase;
