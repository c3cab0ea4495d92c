SELECT (SELECT coalesce(max(tag_id), -1) + 1 FROM tags.tags)::INTEGER AS tags,
       (SELECT max(price_band) + 1 FROM feat.item_index)::INTEGER AS price_bands;
