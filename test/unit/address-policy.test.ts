import { checkOutboundUrl, classifyAddress, OutboundRefusedError } from '../../src/net';

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['127.1', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['2130706433', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['0x7f.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.1.1', 'linkLocal'],
    ['169.254.169.254', 'cloudMetadata'],
    ['169.254.170.2', 'cloudMetadata'],
    ['100.100.100.200', 'cloudMetadata'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.255', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['203.0.113.7', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'cloudMetadata'],
    ['::7f00:1', 'reserved'], // deprecated IPv4-compatible form of 127.0.0.1
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['fd00:ec2::254', 'cloudMetadata'],
    ['ff02::1', 'multicast'],
    ['64:ff9b::7f00:1', 'rfc6052'], // NAT64 of 127.0.0.1
    ['2002:7f00:1::', '6to4'], // 6to4 of 127.0.0.1
    ['2001::1', 'teredo'],
    ['2001:db8::1', 'reserved'],
    ['100::1', 'discard'],
    ['4000::1', 'reserved'], // outside 2000::/3, not routed
  ])('refuses %s as %s', (address, range) => {
    expect(classifyAddress(address)).toMatchObject({ public: false, range });
  });

  it.each([['8.8.8.8'], ['1.1.1.1'], ['93.184.216.34'], ['172.32.0.1'], ['100.128.0.1'], ['11.0.0.1'], ['2606:4700:4700::1111'], ['2a00:1450:4001::1']])(
    'accepts the public address %s',
    (address) => {
      expect(classifyAddress(address)).toMatchObject({ public: true });
    },
  );

  it('judges an IPv4-mapped public address as its IPv4 address', () => {
    expect(classifyAddress('::ffff:8.8.8.8')).toEqual({ public: true, address: '8.8.8.8' });
  });

  it.each([['example.com'], ['localhost'], ['127.0.0.1.nip.io'], ['']])('leaves the host name %j to the connection check', (name) => {
    expect(classifyAddress(name)).toBeUndefined();
  });
});

describe('checkOutboundUrl', () => {
  const strict = { allowPrivate: false };
  const refusal = (url: string, policy = strict) => {
    try {
      checkOutboundUrl(url, policy);
    } catch (err) {
      if (err instanceof OutboundRefusedError) return err.code;
      throw err;
    }
    return 'accepted';
  };

  it.each([
    ['http://127.0.0.1:3000/hook', 'PRIVATE_ADDRESS'],
    ['http://2130706433/', 'PRIVATE_ADDRESS'],
    ['http://0x7f.1/', 'PRIVATE_ADDRESS'],
    ['http://017700000001/', 'PRIVATE_ADDRESS'],
    ['http://%31%32%37.0.0.1/', 'PRIVATE_ADDRESS'],
    ['http://127.0.0.1./', 'PRIVATE_ADDRESS'],
    ['http://[::1]:8080/', 'PRIVATE_ADDRESS'],
    ['http://[::ffff:127.0.0.1]/', 'PRIVATE_ADDRESS'],
    ['http://[::ffff:a9fe:a9fe]/', 'PRIVATE_ADDRESS'],
    ['http://169.254.169.254/latest/meta-data/', 'PRIVATE_ADDRESS'],
    ['http://10.1.2.3/', 'PRIVATE_ADDRESS'],
    ['http://0/', 'PRIVATE_ADDRESS'],
    ['https://[fd00:ec2::254]/', 'PRIVATE_ADDRESS'],
    ['ftp://example.com/hook', 'BAD_SCHEME'],
    ['file:///etc/passwd', 'BAD_SCHEME'],
    ['gopher://example.com:70/', 'BAD_SCHEME'],
    ['javascript:alert(1)', 'BAD_SCHEME'],
    ['http://user:secret@example.com/', 'CREDENTIALS_IN_URL'],
    ['http://:secret@example.com/', 'CREDENTIALS_IN_URL'],
    ['http://user@example.com/', 'CREDENTIALS_IN_URL'],
    ['example.com/hook', 'BAD_URL'],
    ['http://', 'BAD_URL'],
    ['https://example.com/hooks/imgflow?x=1', 'accepted'],
    ['http://8.8.8.8/', 'accepted'],
    ['https://[2606:4700:4700::1111]/', 'accepted'],
    ['http://localhost:3000/', 'accepted'], // a name: its address is checked at connect time
  ])('%s → %s', (url, expected) => {
    expect(refusal(url)).toBe(expected);
  });

  it('lets ALLOW_PRIVATE_URLS lift the address check only', () => {
    const open = { allowPrivate: true };
    expect(refusal('http://127.0.0.1:3000/hook', open)).toBe('accepted');
    expect(refusal('http://169.254.169.254/', open)).toBe('accepted');
    expect(refusal('ftp://127.0.0.1/', open)).toBe('BAD_SCHEME');
    expect(refusal('http://u:p@127.0.0.1/', open)).toBe('CREDENTIALS_IN_URL');
  });
});
