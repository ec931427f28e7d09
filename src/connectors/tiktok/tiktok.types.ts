/**
 * TikTok Research API payloads as they arrive (SOCIAL-APIS.md §3). Everything is optional: the API
 * returns only the requested `fields`, and error answers may carry no `data`; the mapper validates.
 *
 * Ids (video, comment, music) are int64 JSON numbers on the wire, above 2^53: the client parses with
 * lossless-json and hands them over as exact decimal strings, so they are typed `string` here.
 */

/** The v2 error object; `code` is `"ok"` on success. */
export interface TikTokApiError {
  readonly code?: string;
  readonly message?: string;
  readonly log_id?: string;
}

/** Every v2 answer: `{"data": {...}, "error": {"code": "ok", "message": "", "log_id": "…"}}`. */
export interface TikTokEnvelope<T> {
  readonly data?: T;
  readonly error?: TikTokApiError;
}

/** `POST /v2/oauth/token/` (client credentials). No envelope; errors use the OAuth shape. */
export interface TikTokTokenResponse {
  readonly access_token?: string;
  /** Seconds (7200 for client tokens). */
  readonly expires_in?: number;
  readonly token_type?: string;
  /** OAuth error: `invalid_client`, `invalid_grant`, `invalid_request`, `unsupported_grant_type`, … */
  readonly error?: string | TikTokApiError;
  readonly error_description?: string;
  readonly log_id?: string;
}

/** `POST /v2/research/user/info/` data. No user id is returned: the username is the key. */
export interface TikTokUserInfo {
  readonly display_name?: string;
  readonly bio_description?: string;
  readonly avatar_url?: string;
  readonly is_verified?: boolean;
  readonly follower_count?: number;
  readonly following_count?: number;
  readonly likes_count?: number;
  readonly video_count?: number;
  readonly bio_url?: string;
}

export interface TikTokVideo {
  readonly id?: string;
  /** The docs' examples say `video_id`; the live API answers `id`. Both are accepted. */
  readonly video_id?: string;
  readonly username?: string;
  /** Unix seconds. */
  readonly create_time?: number;
  readonly region_code?: string;
  readonly video_description?: string;
  readonly hashtag_names?: readonly string[];
  readonly effect_ids?: readonly string[];
  readonly music_id?: string;
  readonly playlist_id?: string | number;
  readonly voice_to_text?: string;
  readonly view_count?: number;
  readonly like_count?: number;
  readonly comment_count?: number;
  readonly share_count?: number;
  readonly favorites_count?: number;
  /** Seconds. */
  readonly video_duration?: number;
  /** Not among the Research fields; present when a payload comes from elsewhere (Display API). */
  readonly share_url?: string;
}

export interface TikTokVideoQueryData {
  readonly videos?: readonly TikTokVideo[];
  /** Offset of the records returned so far in this search. */
  readonly cursor?: number;
  /** Must be sent back with `cursor` for the next page of the same search; expires. */
  readonly search_id?: string;
  readonly has_more?: boolean;
}

export interface TikTokComment {
  readonly id?: string;
  readonly video_id?: string;
  readonly text?: string;
  readonly like_count?: number;
  readonly reply_count?: number;
  /** The parent comment for a reply; the video id for a top-level comment. */
  readonly parent_comment_id?: string;
  /** Unix seconds. */
  readonly create_time?: number;
}

export interface TikTokCommentListData {
  readonly comments?: readonly TikTokComment[];
  readonly cursor?: number;
  readonly has_more?: boolean;
}

export interface TikTokFollowUser {
  readonly username?: string;
  readonly display_name?: string;
}

export interface TikTokFollowersData {
  readonly user_followers?: readonly TikTokFollowUser[];
  readonly cursor?: number;
  readonly has_more?: boolean;
}

export interface TikTokFollowingData {
  readonly user_following?: readonly TikTokFollowUser[];
  readonly cursor?: number;
  readonly has_more?: boolean;
}
