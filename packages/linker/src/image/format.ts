/** Image format v1 constants (docs/image-format.md). */
export const MAGIC = 'WAGCIMG\0';
export const VERSION = 1;
export const ALIGN = 65536;
export const HEADER_SIZE = 24;
export const SECTION_ENTRY_SIZE = 24;

export const enum Section {
  Text = 1,
  FuncMap = 2,
  SiteMap = 3,
  Meta = 4,
  Strings = 5,
  Globals = 6,
  Table = 7,
  Memory = 8,
  Store = 9,
  Modules = 10,
  Resume = 11,
  Tables = 12,
  Rodata = 13,
  Template = 14,
}

export const ARCH_TAG = { 'x86-64': 1, arm64: 2 } as const;
export const NONE = 0xffffffff;
export const FUNC_ENTRY = 28;
export const SITE_ENTRY = 28;
export const EXPORT_ENTRY = 28;
export const META_FIXED = 48;
export const STORE_FIXED = 32;
export const STORE_MEMORY = 12;
export const STORE_TABLE = 16;
export const STORE_INSTANCE = 44;
export const STORE_ELEM = 16;
export const STORE_DATA = 16;
export const STORE_CHECK = 12;
export const TABLES_FIXED = 8;
export const TABLES_TABLE = 24;
export const TABLES_SEGMENT = 12;
