-- Every click of every user in time order (epoch ms): what the daily popularity counts read.
SELECT item_idx, epoch_ms(ts)::DOUBLE AS ts FROM feat.behaviours ORDER BY ts, item_idx;
