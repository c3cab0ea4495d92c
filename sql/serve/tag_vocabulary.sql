-- The tag vocabulary the item tower was trained on (category tags excluded, as in models/item_attributes).
SELECT tag_id, tag FROM tags.tags WHERE type <> 'category' ORDER BY tag_id;
