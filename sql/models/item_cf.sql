SELECT item_idx, neighbor_idx, score FROM feat.item_cf ORDER BY item_idx, score DESC;
