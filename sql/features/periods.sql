SELECT data_start, train_end, valid_end, data_end FROM periods;
