SELECT center, context, label FROM feat.skipgram_pairs;
