SELECT item_id, title, category, image_embedding FROM src.items ORDER BY item_id;
