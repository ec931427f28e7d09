/**
 * Instagram Graph API payloads as they arrive (SOCIAL-APIS.md §2.3). Everything is optional: the API
 * returns only the requested `fields`, omits `media_url` for licensed audio, `thumbnail_url` for
 * images; the mapper validates. Ids are numeric strings (never parse them as numbers), counters are
 * JSON integers, timestamps look like `2023-06-12T19:20:02+0000`.
 */

export interface InstagramCursors {
  readonly before?: string;
  readonly after?: string;
}

export interface InstagramPaging {
  readonly cursors?: InstagramCursors;
  /** Absolute URL of the next page; absent on the last page (the only end-of-list signal). */
  readonly next?: string;
  readonly previous?: string;
}

/** An edge page: `/media`, `/comments`, `/replies`, or a nested edge from field expansion. */
export interface InstagramEdge<T> {
  readonly data?: readonly T[];
  readonly paging?: InstagramPaging;
}

export interface InstagramUser {
  readonly id?: string;
  /** Legacy numeric id; number or string depending on the version. */
  readonly ig_id?: number | string;
  readonly username?: string;
  readonly name?: string;
  readonly biography?: string;
  readonly website?: string;
  readonly profile_picture_url?: string;
  readonly followers_count?: number;
  readonly follows_count?: number;
  readonly media_count?: number;
  /** Only inside `business_discovery`: the nested media edge. */
  readonly media?: InstagramEdge<InstagramMedia>;
}

export type InstagramMediaType = 'IMAGE' | 'VIDEO' | 'CAROUSEL_ALBUM';
export type InstagramMediaProductType = 'FEED' | 'REELS' | 'STORY' | 'AD';

export interface InstagramMedia {
  readonly id?: string;
  readonly ig_id?: string;
  readonly caption?: string;
  readonly comments_count?: number;
  readonly like_count?: number;
  readonly is_comment_enabled?: boolean;
  readonly media_type?: InstagramMediaType | string;
  readonly media_product_type?: InstagramMediaProductType | string;
  readonly media_url?: string;
  readonly thumbnail_url?: string;
  readonly owner?: { readonly id?: string };
  readonly permalink?: string;
  readonly shortcode?: string;
  readonly timestamp?: string;
  readonly username?: string;
  /** Carousel albums only: the children edge (field expansion `children{…}`). */
  readonly children?: InstagramEdge<InstagramChild>;
}

/** A carousel child: permalink and counters are not available on children. */
export interface InstagramChild {
  readonly id?: string;
  readonly media_type?: InstagramMediaType | string;
  readonly media_url?: string;
  readonly thumbnail_url?: string;
  readonly timestamp?: string;
}

export interface InstagramComment {
  readonly id?: string;
  readonly text?: string;
  readonly timestamp?: string;
  readonly username?: string;
  readonly like_count?: number;
  readonly hidden?: boolean;
  readonly from?: { readonly id?: string; readonly username?: string };
  readonly media?: { readonly id?: string };
  /** Set on replies: the top-level comment's id. */
  readonly parent_id?: string;
  /** Top-level comments: the replies edge (field expansion `replies{…}`). */
  readonly replies?: InstagramEdge<InstagramComment>;
}

/** `GET /{ig-user-id}?fields=business_discovery.username(x){…}` */
export interface InstagramBusinessDiscoveryResponse {
  readonly business_discovery?: InstagramUser;
  readonly id?: string;
}

/** The Graph API error envelope (SOCIAL-APIS.md §2.6). */
export interface InstagramErrorBody {
  readonly error?: {
    readonly message?: string;
    readonly type?: string;
    readonly code?: number;
    readonly error_subcode?: number;
    readonly error_user_title?: string;
    readonly error_user_msg?: string;
    readonly is_transient?: boolean;
    readonly fbtrace_id?: string;
  };
}
