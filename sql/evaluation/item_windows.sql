-- When each lot is on sale (epoch ms), by item_idx: the candidates of a session are the lots on
-- sale when it starts.
SELECT item_idx, epoch_ms(listed_at)::DOUBLE AS listed_at, epoch_ms(auction_ends_at)::DOUBLE AS ends_at
FROM feat.item_index ORDER BY item_idx;
