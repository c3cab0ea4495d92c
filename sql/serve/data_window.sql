-- The logged behaviour's first and last moments (epoch ms): listing days count from the first, and the
-- popular fallback's window ends at the last.
SELECT epoch_ms(data_start)::DOUBLE AS data_start_ms, epoch_ms(data_end)::DOUBLE AS data_end_ms FROM feat.periods;
