/** Names of the files a multi-interest stage folder holds beside its model, shared by the stages that write and read them. */

/** The item vectors a jointly trained user model co-trained (absent with a frozen item tower). */
export const CO_TRAINED_ITEM_VECTORS = 'item_vectors.parquet';
/** The YouTube-DNN baseline's own item vectors. */
export const YOUTUBE_DNN_ITEM_VECTORS = 'youtube_dnn_item_vectors.parquet';
/** Each user model's queries per next-session case, for the evaluation stage to rank with. */
export const MULTI_INTEREST_SESSION_QUERIES = 'next_session_queries.parquet';
export const YOUTUBE_DNN_SESSION_QUERIES = 'youtube_dnn_next_session_queries.parquet';
