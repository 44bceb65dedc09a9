export declare function loaderPath(arch: 'x86-64' | 'arm64'): string;
