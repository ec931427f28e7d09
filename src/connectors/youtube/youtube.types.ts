/**
 * YouTube Data API v3 payloads as they arrive (SOCIAL-APIS.md §1.3). Everything is optional: the
 * API omits parts that were not requested, empty `items`, hidden counters; the mapper validates.
 * Counters in `statistics` are decimal strings; comment `likeCount` and `totalReplyCount` are numbers.
 */

export interface YouTubeThumbnail {
  readonly url?: string;
  readonly width?: number;
  readonly height?: number;
}

export type YouTubeThumbnails = Readonly<
  Partial<Record<'default' | 'medium' | 'high' | 'standard' | 'maxres', YouTubeThumbnail>>
>;

export interface YouTubeListResponse<T> {
  readonly kind?: string;
  readonly etag?: string;
  readonly nextPageToken?: string;
  readonly prevPageToken?: string;
  readonly pageInfo?: { readonly totalResults?: number; readonly resultsPerPage?: number };
  /** Absent when the list is empty. */
  readonly items?: readonly T[];
}

export interface YouTubeChannel {
  readonly kind?: string;
  readonly etag?: string;
  readonly id?: string;
  readonly snippet?: {
    readonly title?: string;
    readonly description?: string;
    /** The `@handle`. */
    readonly customUrl?: string;
    readonly publishedAt?: string;
    readonly thumbnails?: YouTubeThumbnails;
    readonly defaultLanguage?: string;
    readonly localized?: { readonly title?: string; readonly description?: string };
    readonly country?: string;
  };
  readonly contentDetails?: {
    readonly relatedPlaylists?: { readonly likes?: string; readonly uploads?: string };
  };
  readonly statistics?: {
    readonly viewCount?: string;
    readonly subscriberCount?: string;
    readonly hiddenSubscriberCount?: boolean;
    readonly videoCount?: string;
    readonly commentCount?: string;
  };
  readonly status?: {
    readonly privacyStatus?: string;
    readonly isLinked?: boolean;
    readonly longUploadsStatus?: string;
    readonly madeForKids?: boolean;
  };
}

export interface YouTubePlaylistItem {
  readonly kind?: string;
  readonly etag?: string;
  readonly id?: string;
  readonly snippet?: {
    readonly publishedAt?: string;
    readonly channelId?: string;
    readonly title?: string;
    readonly description?: string;
    readonly thumbnails?: YouTubeThumbnails;
    readonly channelTitle?: string;
    readonly playlistId?: string;
    readonly position?: number;
    readonly resourceId?: { readonly kind?: string; readonly videoId?: string };
    readonly videoOwnerChannelTitle?: string;
    readonly videoOwnerChannelId?: string;
  };
  readonly contentDetails?: { readonly videoId?: string; readonly videoPublishedAt?: string };
  readonly status?: { readonly privacyStatus?: string };
}

export interface YouTubeVideo {
  readonly kind?: string;
  readonly etag?: string;
  readonly id?: string;
  readonly snippet?: {
    readonly publishedAt?: string;
    readonly channelId?: string;
    readonly title?: string;
    readonly description?: string;
    readonly thumbnails?: YouTubeThumbnails;
    readonly channelTitle?: string;
    readonly tags?: readonly string[];
    readonly categoryId?: string;
    readonly liveBroadcastContent?: 'none' | 'upcoming' | 'live' | 'completed';
    readonly defaultAudioLanguage?: string;
    readonly localized?: { readonly title?: string; readonly description?: string };
  };
  readonly contentDetails?: {
    /** ISO 8601, e.g. `PT15M51S`; `P0D` for upcoming live streams. */
    readonly duration?: string;
    readonly dimension?: string;
    readonly definition?: string;
    readonly caption?: string;
    readonly licensedContent?: boolean;
    readonly projection?: string;
  };
  readonly statistics?: {
    readonly viewCount?: string;
    /** Absent when the owner hides likes. */
    readonly likeCount?: string;
    readonly favoriteCount?: string;
    /** Absent when comments are disabled. */
    readonly commentCount?: string;
  };
  readonly status?: {
    readonly uploadStatus?: string;
    readonly privacyStatus?: string;
    readonly license?: string;
    readonly embeddable?: boolean;
    readonly publicStatsViewable?: boolean;
    readonly madeForKids?: boolean;
  };
}

export interface YouTubeComment {
  readonly kind?: string;
  readonly etag?: string;
  readonly id?: string;
  readonly snippet?: {
    readonly channelId?: string;
    readonly videoId?: string;
    readonly textDisplay?: string;
    readonly textOriginal?: string;
    /** Set on replies: the top-level comment (= thread) id. */
    readonly parentId?: string;
    readonly authorDisplayName?: string;
    readonly authorProfileImageUrl?: string;
    readonly authorChannelUrl?: string;
    readonly authorChannelId?: { readonly value?: string };
    readonly canRate?: boolean;
    readonly viewerRating?: string;
    readonly likeCount?: number;
    readonly publishedAt?: string;
    readonly updatedAt?: string;
  };
}

export interface YouTubeCommentThread {
  readonly kind?: string;
  readonly etag?: string;
  readonly id?: string;
  readonly snippet?: {
    readonly channelId?: string;
    readonly videoId?: string;
    readonly topLevelComment?: YouTubeComment;
    readonly canReply?: boolean;
    readonly totalReplyCount?: number;
    readonly isPublic?: boolean;
  };
  /** A subset of the replies; fetch the rest with comments.list?parentId=. */
  readonly replies?: { readonly comments?: readonly YouTubeComment[] };
}

/** One public subscription: `snippet.channelId` subscribes to `snippet.resourceId.channelId`. */
export interface YouTubeSubscription {
  readonly kind?: string;
  readonly etag?: string;
  readonly id?: string;
  readonly snippet?: {
    /** When the subscription was made. */
    readonly publishedAt?: string;
    /** The subscribed-to channel's title and description. */
    readonly title?: string;
    readonly description?: string;
    readonly resourceId?: { readonly kind?: string; readonly channelId?: string };
    /** The subscriber. */
    readonly channelId?: string;
    readonly thumbnails?: YouTubeThumbnails;
  };
  readonly contentDetails?: {
    readonly totalItemCount?: number;
    readonly newItemCount?: number;
    readonly activityType?: string;
  };
}

export type YouTubeChannelListResponse = YouTubeListResponse<YouTubeChannel>;
export type YouTubePlaylistItemListResponse = YouTubeListResponse<YouTubePlaylistItem>;
export type YouTubeVideoListResponse = YouTubeListResponse<YouTubeVideo>;
export type YouTubeCommentThreadListResponse = YouTubeListResponse<YouTubeCommentThread>;
export type YouTubeCommentListResponse = YouTubeListResponse<YouTubeComment>;
export type YouTubeSubscriptionListResponse = YouTubeListResponse<YouTubeSubscription>;
