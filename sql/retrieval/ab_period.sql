-- The held-out (test) period of the feature DB: from valid_end to the end of the data, epoch ms.
SELECT epoch_ms(data_start)::DOUBLE AS data_start, epoch_ms(valid_end)::DOUBLE AS test_start,
       epoch_ms(data_end)::DOUBLE AS data_end
FROM feat.periods;
